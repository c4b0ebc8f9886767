/*
 * nsbox-probe: a tiny multi-call program that tests run inside pods and
 * containers, so assertions are about what the kernel shows from inside.
 *   orphan [N]         fork N children that each leave an orphan behind, exit 0
 *   mq-create NAME     create POSIX message queue /NAME
 *   mq-exists NAME     exit 0 if /NAME exists in this IPC namespace, else 1
 *   shm-create KEY     create a SysV shared-memory segment with KEY
 *   shm-exists KEY     exit 0 if a segment with KEY exists, else 1
 *   sig-report         print "ready", then the number of each signal received
 *   tiocsti FD TEXT    push TEXT and a newline into the input of terminal FD
 *                      (TIOCSTI), as if typed; exit 1 with the error if refused
 *   exit N             exit with code N
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

static int orphan(int n) {
  for (int i = 0; i < n; i++) {
    pid_t child = fork();
    if (child < 0)
      return 1;
    if (child == 0) {
      if (fork() == 0) {
        usleep(50 * 1000); /* outlive our parent, then exit: a zombie unless reaped */
        _exit(0);
      }
      _exit(0);
    }
    waitpid(child, NULL, 0);
  }
  return 0;
}

static int tiocsti(int fd, const char *text) {
  for (const char *p = text;; p++) {
    const char c = *p ? *p : '\n';
    if (ioctl(fd, TIOCSTI, &c) < 0) {
      fprintf(stderr, "tiocsti: %s\n", strerror(errno));
      return 1;
    }
    if (!*p)
      return 0;
  }
}

static volatile sig_atomic_t last_signal;
static void on_signal(int sig) { last_signal = sig; }

static int sig_report(void) {
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  for (int sig = 1; sig < 32; sig++)
    if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD)
      sigaction(sig, &sa, NULL);
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    pause();
    if (last_signal) {
      printf("signal %d\n", (int)last_signal);
      fflush(stdout);
      if (last_signal == SIGTERM)
        return 0;
      last_signal = 0;
    }
  }
}

int main(int argc, char **argv) {
  const char *cmd = argc > 1 ? argv[1] : "";
  const char *arg = argc > 2 ? argv[2] : "";
  char name[256];
  snprintf(name, sizeof name, "/%s", arg);
  if (!strcmp(cmd, "orphan"))
    return orphan(argc > 2 ? atoi(arg) : 1);
  if (!strcmp(cmd, "mq-create")) {
    mqd_t q = mq_open(name, O_CREAT | O_RDWR, 0600, NULL);
    if (q == (mqd_t)-1) {
      perror("mq_open");
      return 2;
    }
    return 0;
  }
  if (!strcmp(cmd, "mq-exists")) {
    mqd_t q = mq_open(name, O_RDONLY);
    return q == (mqd_t)-1 ? 1 : 0;
  }
  if (!strcmp(cmd, "shm-create")) {
    int id = shmget((key_t)atoi(arg), 4096, IPC_CREAT | IPC_EXCL | 0600);
    if (id < 0) {
      perror("shmget");
      return 2;
    }
    return 0;
  }
  if (!strcmp(cmd, "shm-exists"))
    return shmget((key_t)atoi(arg), 0, 0) < 0 ? 1 : 0;
  if (!strcmp(cmd, "sig-report"))
    return sig_report();
  if (!strcmp(cmd, "tiocsti"))
    return argc > 3 ? tiocsti(atoi(arg), argv[3]) : 64;
  if (!strcmp(cmd, "exit"))
    return atoi(arg);
  fprintf(stderr, "usage: nsbox-probe orphan|mq-create|mq-exists|shm-create|shm-exists|sig-report|tiocsti|exit ARG\n");
  return 64;
}

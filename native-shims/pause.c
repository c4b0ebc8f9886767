/*
 * nsbox pause: PID 1 of a pod. Holds the pod's namespaces, reaps every
 * orphan that is reparented to it, exits 0 on SIGTERM/SIGINT.
 * Kubernetes pause semantics; libc only; never spawns anything.
 *
 * Readiness: if fd 3 is a pipe when we start, we write one byte to it after
 * the signal handlers are installed, then close it, so the parent knows that
 * a SIGTERM from now on is handled (PID 1 ignores signals without handlers).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NSBOX_PAUSE_VERSION "0.1.0"
#define READY_FD 3

enum { EXIT_SIGACTION_TERM = 2, EXIT_SIGACTION_CHLD = 3, EXIT_CHDIR = 4 };

static void on_terminate(int sig) {
  (void)sig;
  _exit(0);
}

static void on_child(int sig) {
  (void)sig;
  int saved = errno;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved;
}

static void report_ready(void) {
  struct stat st;
  if (fstat(READY_FD, &st) == 0 && S_ISFIFO(st.st_mode)) {
    ssize_t ignored = write(READY_FD, "R", 1);
    (void)ignored;
    close(READY_FD);
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
    printf("nsbox-pause %s\n", NSBOX_PAUSE_VERSION);
    return 0;
  }
  if (getpid() != 1)
    fprintf(stderr, "pause: warning: not running as PID 1 (pid %d)\n", (int)getpid());

  struct sigaction term = {.sa_handler = on_terminate};
  sigemptyset(&term.sa_mask);
  if (sigaction(SIGTERM, &term, NULL) < 0 || sigaction(SIGINT, &term, NULL) < 0)
    return EXIT_SIGACTION_TERM;

  struct sigaction chld = {.sa_handler = on_child, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
  sigemptyset(&chld.sa_mask);
  if (sigaction(SIGCHLD, &chld, NULL) < 0)
    return EXIT_SIGACTION_CHLD;

  if (chdir("/") < 0)
    return EXIT_CHDIR;

  /* Orphans that died before the handler existed are reaped here. */
  on_child(SIGCHLD);
  report_ready();

  for (;;)
    pause();
}

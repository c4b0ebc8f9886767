/*
 * nsbox-exec: runs one exec plan for the CLI, so that a short-lived CLI
 * call needs no FFI addon (loading it costs more than this whole process).
 * The CLI starts it with its relay channels as fds 0-2 (sockets Node makes,
 * never the CLI's own terminal), a control socket as fd 3 and, for a host
 * program, that program's fd as fd 5. TypeScript builds the plan and its
 * fd numbers; this program executes it and relays:
 *   request (fd 3): "PID STARTTIME LENGTH INPUT\n", then LENGTH bytes of plan;
 *   it opens a pidfd on PID as fd 4, the plan's target, if the process's
 *   start time (field 22 of /proc/PID/stat) is still STARTTIME; else "G".
 *   The command gets pipes, as fds 6 (its stdin, when INPUT is 1), 7 and 8
 *   (stdout, stderr): a pipe can be reopened through /dev/stdout, a socket
 *   cannot. This process copies fd 0 into the first and the other two into
 *   fds 1 and 2.
 *   Then "R" and the struct nsbox_result of the spawn; the command is this
 *   process's child (CLONE_PARENT) and gets the signals this process gets;
 *   once it has exited and its output is drained (or 250 ms later, when a
 *   background child holds the pipes), "W" and its wait status (int32).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/signalfd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shim/plan.h"

int nsbox_spawn(const uint8_t *plan, uint32_t len, uint8_t *result_out);

#define CONTROL 3
#define TARGET 4
#define PROGRAM 5
#define CMD_STDIN 6
#define CMD_STDOUT 7
#define CMD_STDERR 8
#define MAX_PLAN (64u << 20)
#define DRAIN_GRACE_MS 250

static volatile pid_t command = -1;

static int read_full(int fd, void *buf, size_t n) {
  char *p = buf;
  while (n) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static void write_full(const void *buf, size_t n) {
  const char *p = buf;
  while (n) {
    ssize_t w = write(CONTROL, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return; /* the CLI is gone: nobody to tell */
    p += w;
    n -= (size_t)w;
  }
}

/* The header line, byte by byte (it is short): "PID STARTTIME LENGTH\n". */
static int read_header(long *pid, char *start, size_t start_size, unsigned long *len, int *input) {
  char line[96];
  size_t n = 0;
  for (;;) {
    if (n + 1 >= sizeof line || read_full(CONTROL, line + n, 1) < 0)
      return -1;
    if (line[n] == '\n')
      break;
    n++;
  }
  line[n] = 0;
  char *end;
  *pid = strtol(line, &end, 10);
  if (*end != ' ' || *pid <= 0)
    return -1;
  char *s = end + 1, *space = strchr(s, ' ');
  if (!space || (size_t)(space - s) >= start_size)
    return -1;
  memcpy(start, s, (size_t)(space - s));
  start[space - s] = 0;
  *len = strtoul(space + 1, &end, 10);
  if (*end != ' ' || *len == 0 || *len > MAX_PLAN)
    return -1;
  *input = end[1] == '1';
  return end[1] == '0' || end[1] == '1' ? 0 : -1;
}

/* Field 22 of /proc/PID/stat, after the command's closing parenthesis. */
static int start_time_is(long pid, const char *expected) {
  char path[48], buf[1024];
  int n = 0;
  char digits[24];
  long v = pid;
  do
    digits[n++] = (char)('0' + v % 10);
  while ((v /= 10) && n < 20);
  memcpy(path, "/proc/", 6);
  int k = 6;
  while (n)
    path[k++] = digits[--n];
  memcpy(path + k, "/stat", 6);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t r = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (r <= 0)
    return 0;
  buf[r] = 0;
  char *p = strrchr(buf, ')');
  if (!p)
    return 0;
  p++;
  for (int field = 3; field < 22; field++) { /* from the space before field 3 to the one before field 22 */
    p = strchr(p + 1, ' ');
    if (!p)
      return 0;
  }
  p++;
  size_t len = strcspn(p, " ");
  return len == strlen(expected) && strncmp(p, expected, len) == 0;
}

static void forward(int sig) {
  if (command > 0)
    kill(command, sig);
}

/* A pipe whose end for the command is at `at` (read end for its stdin, else write end); returns ours (moved
   above the fixed numbers, so that closing those later never closes it), or -1. */
static int command_pipe(int at, int for_input) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return -1;
  int theirs = for_input ? p[0] : p[1], ours = for_input ? p[1] : p[0];
  int high = fcntl(ours, F_DUPFD_CLOEXEC, 9);
  close(ours);
  if (high < 0)
    return -1;
  if (theirs != at) {
    if (dup2(theirs, at) < 0)
      return -1;
    close(theirs);
  }
  return high;
}

/* One copy of at most `max` bytes from `from` to `to`; 0 at the end of `from` (or when `to` is gone), 1 otherwise. */
static int copy_once(int from, int to, size_t max) {
  char buf[65536];
  ssize_t n = read(from, buf, max < sizeof buf ? max : sizeof buf);
  if (n < 0)
    return errno == EINTR || errno == EAGAIN ? 1 : 0;
  if (n == 0)
    return 0;
  for (char *p = buf; n > 0;) {
    ssize_t w = write(to, p, (size_t)n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return 0;
    p += w;
    n -= w;
  }
  return 1;
}

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Copies until the command has exited and its output has ended (or the grace after its exit is over); its wait status. */
static int relay(pid_t pid, int sigfd, int in_w, int out_r, int err_r) {
  int status = 0, exited = 0;
  long long deadline = 0;
  int in_open = in_w >= 0;
  /* Input is read only once the command's stdin pipe has room (PIPE_BUF at least): a write into a full
     pipe would block the copying of its output, and a command that writes without reading would wait for ever. */
  int in_room = 0;
  while (out_r >= 0 || err_r >= 0 || !exited) {
    struct pollfd fds[5] = {{sigfd, POLLIN, 0}, {out_r, POLLIN, 0}, {err_r, POLLIN, 0}, {in_open && in_room ? 0 : -1, POLLIN, 0}, {in_open && !in_room ? in_w : -1, POLLOUT, 0}};
    int timeout = exited ? (int)(deadline - now_ms()) : -1;
    if (exited && timeout <= 0)
      break;
    if (poll(fds, 5, timeout) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (fds[0].revents) {
      struct signalfd_siginfo si;
      while (read(sigfd, &si, sizeof si) == sizeof si) {
      }
      if (!exited && waitpid(pid, &status, WNOHANG | __WALL) == pid) {
        exited = 1;
        deadline = now_ms() + DRAIN_GRACE_MS;
        if (in_open) {
          close(in_w);
          in_open = 0;
        }
      }
    }
    if (fds[1].revents && !copy_once(out_r, 1, 65536)) {
      close(out_r);
      out_r = -1;
    }
    if (fds[2].revents && !copy_once(err_r, 2, 65536)) {
      close(err_r);
      err_r = -1;
    }
    if (in_open && (fds[4].revents & (POLLERR | POLLHUP))) {
      close(in_w); /* the command closed its stdin: nothing more to give it */
      in_open = 0;
    } else if (in_open && (fds[4].revents & POLLOUT)) {
      in_room = 1;
    } else if (in_open && fds[3].revents) {
      in_room = 0;
      if (!copy_once(0, in_w, PIPE_BUF)) {
        close(in_w); /* the end of our input is the end of the command's */
        in_open = 0;
      }
    }
  }
  if (!exited)
    while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {
    }
  return status;
}

int main(void) {
  if (fcntl(CONTROL, F_GETFD) < 0) {
    static const char usage[] = "usage: nsbox-exec (started by the nsbox CLI, its control socket as fd 3)\n";
    if (write(2, usage, sizeof usage - 1) < 0)
      return 2;
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  long pid;
  char start[32];
  unsigned long len;
  int input;
  if (read_header(&pid, start, sizeof start, &len, &input) < 0)
    return 125;
  uint8_t *plan = malloc(len);
  if (!plan || read_full(CONTROL, plan, len) < 0)
    return 125;
  int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
  /* The pidfd pins the process: a start time that matches now matches for good. */
  if (pidfd < 0 || !start_time_is(pid, start) || (pidfd != TARGET && dup2(pidfd, TARGET) < 0)) {
    write_full("G", 1);
    return 0;
  }
  if (pidfd != TARGET)
    close(pidfd);
  int in_w = input ? command_pipe(CMD_STDIN, 1) : -1;
  int out_r = command_pipe(CMD_STDOUT, 0), err_r = command_pipe(CMD_STDERR, 0);
  if ((input && in_w < 0) || out_r < 0 || err_r < 0)
    return 125;
  /* SIGCHLD through a signalfd, into the relay's poll; the others go on to the command. */
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  /* Above the fixed numbers, as the pipes are: it could be given 5, which is closed below when no host program came. */
  int low_sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  int sigfd = low_sigfd < 0 ? -1 : fcntl(low_sigfd, F_DUPFD_CLOEXEC, 9);
  if (low_sigfd >= 0)
    close(low_sigfd);
  if (sigfd < 0)
    return 125;
  int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  struct sigaction sa = {0};
  sa.sa_handler = forward;
  sa.sa_flags = SA_RESTART;
  for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
    sigaction(forwarded[i], &sa, NULL);
  struct nsbox_result result;
  nsbox_spawn(plan, (uint32_t)len, (uint8_t *)&result);
  free(plan);
  command = result.section < 0 ? result.pid : -1;
  write_full("R", 1);
  write_full(&result, sizeof result);
  /* The command has its own ends now: ours would keep its pipes open after it is done. */
  close(TARGET);
  close(PROGRAM);
  close(CMD_STDIN);
  close(CMD_STDOUT);
  close(CMD_STDERR);
  if (result.section >= 0) {
    if (result.pid > 0)
      while (waitpid(result.pid, NULL, __WALL) < 0 && errno == EINTR) {
      }
    return 0;
  }
  int32_t s = relay(result.pid, sigfd, in_w, out_r, err_r);
  write_full("W", 1);
  write_full(&s, sizeof s);
  return 0;
}

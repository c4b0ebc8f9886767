/* Thin wrappers for the calls ffi-rs cannot make directly (variadic ones such
 * as prctl/ioctl/syscall). No policy here. Each returns the result or -errno. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

int nsbox_pidfd_open(int pid) {
  long fd = syscall(SYS_pidfd_open, pid, 0);
  return fd < 0 ? -errno : (int)fd;
}

int nsbox_pidfd_send_signal(int pidfd, int sig) {
  return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

int nsbox_set_child_subreaper(void) {
  return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0 ? -errno : 0;
}

/* waitpid(pid, WNOHANG|__WALL): 0 = still running, >0 = reaped (status in *out). */
int nsbox_reap(int pid, int *status_out) {
  int status = 0;
  pid_t r;
  do
    r = waitpid(pid, &status, WNOHANG | __WALL);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return -errno;
  if (r > 0)
    *status_out = status;
  return r;
}

/* Opens a pty pair: fds[0] master, fds[1] slave, both close-on-exec. */
int nsbox_openpty(int *fds, int rows, int cols) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return -errno;
  char name[128];
  if (unlockpt(master) < 0 || ptsname_r(master, name, sizeof name) != 0) {
    int err = errno;
    close(master);
    return -err;
  }
  int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    int err = errno;
    close(master);
    return -err;
  }
  if (rows > 0 && cols > 0) {
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    ioctl(master, TIOCSWINSZ, &ws);
  }
  fds[0] = master;
  fds[1] = slave;
  return 0;
}

int nsbox_set_winsize(int fd, int rows, int cols) {
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  return ioctl(fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

int nsbox_pipe(int *fds) { return pipe2(fds, O_CLOEXEC) < 0 ? -errno : 0; }

int nsbox_close(int fd) { return close(fd) < 0 ? -errno : 0; }

int nsbox_kill(int pid, int sig) { return kill(pid, sig) < 0 ? -errno : 0; }

int nsbox_flock(int fd, int op) {
  int r;
  do
    r = flock(fd, op);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : 0;
}

/* A whiteout for overlayfs: a 0/0 character device. Unprivileged since
 * Linux 5.8, so image layers can be unpacked rootless. */
int nsbox_mknod_whiteout(const char *path) {
  return mknod(path, S_IFCHR | 0000, makedev(0, 0)) < 0 ? -errno : 0;
}

int nsbox_lsetxattr(const char *path, const char *name, const char *value, int size) {
  return lsetxattr(path, name, value, (size_t)size, 0) < 0 ? -errno : 0;
}

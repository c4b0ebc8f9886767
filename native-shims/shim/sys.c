/* Thin wrappers for the calls ffi-rs cannot make directly (variadic ones such
 * as prctl/ioctl/syscall). No policy here. Each returns the result or -errno. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/file.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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

/* Async-signal-safe (M2 runs it on the caller's memory): no stdio, no malloc. */
int nsbox_pidfd_pid(int pidfd) {
  char path[48] = "/proc/self/fdinfo/", digits[12];
  int n = 0, len = 18;
  unsigned v = (unsigned)pidfd;
  do
    digits[n++] = (char)('0' + v % 10);
  while ((v /= 10) && n < 11);
  while (n)
    path[len++] = digits[--n];
  path[len] = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  char buf[512];
  ssize_t r = read(fd, buf, sizeof buf - 1);
  int err = errno;
  close(fd);
  if (r < 0)
    return -err;
  buf[r] = 0;
  for (char *p = buf; (p = strstr(p, "Pid:")); p++) {
    if (p != buf && p[-1] != '\n')
      continue;
    p += 4;
    while (*p == ' ' || *p == '\t')
      p++;
    long pid = 0;
    if (*p < '0' || *p > '9')
      return -ESRCH; /* "-1": it has exited, or lies outside this /proc's namespace */
    while (*p >= '0' && *p <= '9')
      pid = pid * 10 + (*p++ - '0');
    return (int)pid;
  }
  return -ENOENT;
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

int nsbox_set_winsize(int fd, int rows, int cols) {
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  return ioctl(fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

int nsbox_pipe(int *fds) { return pipe2(fds, O_CLOEXEC) < 0 ? -errno : 0; }

int nsbox_close(int fd) { return close(fd) < 0 ? -errno : 0; }

/* A close-on-exec copy of fd (>= 3), which no event loop watches. */
int nsbox_dup(int fd) {
  int r = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  return r < 0 ? -errno : r;
}

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

/* A unix socket pair (close-on-exec) to receive a pty master from a child. */
int nsbox_socketpair(int *fds) {
  return socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds) < 0 ? -errno : 0;
}

/* A stream pair: Node can wrap one end in a net.Socket (it cannot wrap a datagram socket). */
int nsbox_stream_socketpair(int *fds) {
  return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0 ? -errno : 0;
}

/* Receives one fd sent with SCM_RIGHTS (never blocks: the sender is done). */
int nsbox_recv_fd(int sock) {
  char byte;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  ssize_t n;
  do
    n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return -errno;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
    return -EBADMSG;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

/*
 * Opens `rel` below `dir` for reading without following any symlink on the
 * way (image files read on the host: a link in an image never leads the
 * reader elsewhere), and without blocking on a FIFO. The caller checks the
 * type and bounds what it reads.
 */
int nsbox_open_beneath(const char *dir, const char *rel) {
  int d = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (d < 0)
    return -errno;
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  long fd = syscall(SYS_openat2, d, rel, &how, sizeof how);
  int err = errno;
  close(d);
  return fd < 0 ? -err : (int)fd;
}

/*
 * Opens `path` as if `rootfd` were the root: symlinks on the way are followed
 * inside it, `..` stops at it, and /proc magic links are refused
 * (openat2 RESOLVE_IN_ROOT). `nsbox cp` reaches a container's files this way
 * from outside its mount namespace. The caller passes O_NOFOLLOW to refuse a
 * link as the last component.
 */
int nsbox_open_in_root(int rootfd, const char *path, int flags, int mode) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (unsigned)flags | O_CLOEXEC;
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? (unsigned)mode : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof how);
  return fd < 0 ? -errno : (int)fd;
}

/*
 * Step executors. They run in clone children that share the caller's memory
 * (CLONE_VM), so only async-signal-safe code is allowed: raw syscalls, no
 * malloc, no stdio, no glibc wrappers that broadcast to threads (setresuid,
 * setgroups: glibc would signal the caller's threads). Each returns 0 or
 * -errno.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim.h"

#define FAIL_IF(cond) \
  do {                \
    if (cond)         \
      return -errno;  \
  } while (0)

void nsbox_reset_signal_handlers(void) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++)
    sigaction(sig, &dfl, NULL); /* EINVAL for SIGKILL/SIGSTOP/glibc-internal: fine */
}

void nsbox_unblock_all_signals(void) {
  uint64_t empty = 0;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, NULL, sizeof empty);
}

static size_t copy_str(char *dst, size_t at, size_t cap, const char *src) {
  while (*src && at + 1 < cap)
    dst[at++] = *src++;
  dst[at] = 0;
  return at;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    FAIL_IF(w < 0);
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* ---- middle ---------------------------------------------------------- */

int nsbox_run_middle_step(struct ctx *c, struct step *s) {
  switch (s->op) {
  case OP_SETNS_FD:
  case OP_SETNS_PIDFD:
    FAIL_IF(syscall(SYS_setns, (int)s->arg[0], (int)s->arg[1]) < 0);
    return 0;
  case OP_UNSHARE:
    FAIL_IF(syscall(SYS_unshare, (int)s->arg[0]) < 0);
    return 0;
  /* Mounts before joining the pod (as root: a mount namespace owned by the
   * host's user namespace, whose read-only mounts stay locked for the pod). */
  case OP_MOUNT:
  case OP_MKDIR:
  case OP_SYMLINK:
    return nsbox_run_child_step(c, s);
  default:
    return -EOPNOTSUPP;
  }
}

/* ---- after: M, once F exists ------------------------------------------ */

struct run_args {
  char **argv;
};

static int run_helper_child(void *arg) {
  struct run_args *r = arg;
  char *envp[] = {NULL};
  nsbox_unblock_all_signals();
  syscall(SYS_close_range, 3, ~0U, 0);
  execve(r->argv[0], r->argv, envp);
  _exit(127);
}

static int run_helper(struct ctx *c, struct step *s) {
  for (int *i = s->pid_args; *i >= 0; i++)
    s->argv[*i] = c->pid_text;
  struct run_args r = {.argv = s->argv};
  pid_t pid = clone(run_helper_child, c->stack_run + c->stack_size, CLONE_VM | CLONE_VFORK | SIGCHLD, &r);
  FAIL_IF(pid < 0);
  int status = 0;
  for (;;) {
    pid_t w = waitpid(pid, &status, __WALL);
    if (w == pid)
      break;
    if (w < 0 && errno != EINTR)
      return -errno;
  }
  if (status != 0) {
    c->result->detail = status;
    return -ECHILD;
  }
  return 0;
}

static int write_proc_file(struct ctx *c, struct step *s) {
  if (s->nstr != 2)
    return -EINVAL;
  char path[128];
  size_t n = copy_str(path, 0, sizeof path, "/proc/");
  n = copy_str(path, n, sizeof path, c->pid_text);
  n = copy_str(path, n, sizeof path, "/");
  copy_str(path, n, sizeof path, s->str[0]);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  FAIL_IF(fd < 0);
  int rc = write_all(fd, s->str[1], strlen(s->str[1]));
  close(fd);
  return rc;
}

int nsbox_run_after_step(struct ctx *c, struct step *s) {
  switch (s->op) {
  case OP_RUN:
    return run_helper(c, s);
  case OP_WRITE_PROC:
    return write_proc_file(c, s);
  case OP_RELEASE:
    return write_all(c->release_pipe[1], "G", 1);
  default:
    return -EOPNOTSUPP;
  }
}

/* Turns M into a long-lived process (a supervisor) that stays F's parent. */
int nsbox_exec_middle(struct ctx *c, struct step *s) {
  for (int *i = s->pid_args; *i >= 0; i++)
    s->argv[*i] = c->pid_text;
  FAIL_IF(setsid() < 0);
  /* Fds to pass on go out of the way first, then to 3, 4, ... */
  int *tmp = c->passed_tmp;
  for (int i = 0; i < s->nkeep; i++)
    FAIL_IF((tmp[i] = fcntl(s->keep[i], F_DUPFD_CLOEXEC, 3 + s->nkeep)) < 0);
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  FAIL_IF(null < 0);
  for (int fd = 0; fd < 3; fd++)
    FAIL_IF(dup2(null, fd) < 0);
  close(null);
  for (int i = 0; i < s->nkeep; i++)
    FAIL_IF(dup2(tmp[i], 3 + i) < 0);
  FAIL_IF(syscall(SYS_close_range, 3 + s->nkeep, ~0U, CLOSE_RANGE_CLOEXEC) < 0);
  nsbox_unblock_all_signals();
  c->result->middle_execd = 1; /* read by the caller once vfork lets it go */
  execve(s->str[0], s->argv, s->envp);
  int err = errno;
  c->result->middle_execd = 0;
  return -err;
}

/* ---- child: F ----------------------------------------------------------- */

/* Moves our status pipe out of the way before fd `target` is overwritten. */
static int protect_fd(struct ctx *c, int target) {
  if (c->status_pipe[1] != target)
    return 0;
  int moved = fcntl(target, F_DUPFD_CLOEXEC, 3);
  FAIL_IF(moved < 0);
  c->status_pipe[1] = moved;
  return 0;
}

static int wait_release(struct ctx *c) {
  char b;
  for (;;) {
    ssize_t r = read(c->release_pipe[0], &b, 1);
    if (r == 1)
      break;
    if (r < 0 && errno == EINTR)
      continue;
    return r == 0 ? -EPIPE : -errno; /* M gave up */
  }
  close(c->release_pipe[0]);
  return 0;
}

static int set_ids(struct step *s) {
  if (s->arg[2])
    FAIL_IF(syscall(SYS_setgroups, 0, NULL) < 0);
  FAIL_IF(syscall(SYS_setresgid, (gid_t)s->arg[0], (gid_t)s->arg[0], (gid_t)s->arg[0]) < 0);
  FAIL_IF(syscall(SYS_setresuid, (uid_t)s->arg[1], (uid_t)s->arg[1], (uid_t)s->arg[1]) < 0);
  return 0;
}

static int loopback_up(void) {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  FAIL_IF(sock < 0);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  copy_str(ifr.ifr_name, 0, sizeof ifr.ifr_name, "lo");
  int rc = ioctl(sock, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    rc = ioctl(sock, SIOCSIFFLAGS, &ifr);
  }
  int err = errno;
  close(sock);
  return rc < 0 ? -err : 0;
}

static int do_mount(struct step *s) {
  if (s->nstr != 4 && s->nstr != 5)
    return -EINVAL;
  return nsbox_mount_scoped(s->str[0], s->str[1], s->str[2], (unsigned long)s->arg[0], s->str[3], (int)s->arg[1],
                            s->nstr == 5 ? s->str[4] : NULL);
}

static int setup_stdio(struct ctx *c, struct step *s) {
  int tmp[3];
  for (int i = 0; i < 3; i++) {
    int src = (int)s->arg[i];
    if (src < 0)
      tmp[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
    else
      tmp[i] = fcntl(src, F_DUPFD_CLOEXEC, 3);
    FAIL_IF(tmp[i] < 0);
  }
  for (int i = 0; i < 3; i++) {
    int rc = protect_fd(c, i);
    if (rc < 0)
      return rc;
    FAIL_IF(dup2(tmp[i], i) < 0);
    close(tmp[i]);
  }
  return 0;
}

/* Sends one fd over a unix socket (SCM_RIGHTS), with a one-byte message. */
static int send_fd(int sock, int fd) {
  char byte = 'F';
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  return sendmsg(sock, &msg, 0) < 0 ? -errno : 0;
}

/*
 * Our mount namespace, sent to the caller: holding it keeps the namespace
 * (and its inode number) alive, so the caller can find every process left
 * in it after we exit without ever mistaking a later namespace that got the
 * same number for ours.
 */
static int send_mount_namespace(int sock) {
  int ns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  if (ns < 0)
    return -errno;
  int rc = send_fd(sock, ns);
  close(ns);
  return rc;
}

/*
 * A terminal made inside this process's root (its own devpts, so ttyname
 * works there), as runc does: the master goes back to the caller over the
 * socket `sock`, the slave becomes stdin/stdout/stderr and the controlling
 * terminal of our new session. Never the caller's own terminal.
 */
static int make_pty(struct ctx *c, int sock, int rows, int cols) {
  int master = nsbox_open_scoped_fd("/dev/ptmx", O_RDWR | O_NOCTTY);
  if (master < 0)
    return master;
  int unlock = 0, rc = 0;
  int slave = -1;
  /* The caller's window size from the start: the command may ask at once. */
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || (rows > 0 && ioctl(master, TIOCSWINSZ, &ws) < 0) ||
      (slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
    rc = -errno;
  if (rc == 0)
    rc = send_fd(sock, master);
  close(master);
  if (rc == 0 && ioctl(slave, TIOCSCTTY, 0) < 0)
    rc = -errno;
  for (int fd = 0; rc == 0 && fd < 3; fd++) {
    rc = protect_fd(c, fd);
    if (rc == 0 && dup2(slave, fd) < 0)
      rc = -errno;
  }
  if (slave >= 0)
    close(slave);
  return rc;
}

static int keep_fd(struct ctx *c, struct step *s) {
  int src = (int)s->arg[0], target = (int)s->arg[1];
  if (target < 3 || c->nkept >= NSBOX_MAX_KEPT_FDS)
    return -EINVAL;
  int rc = protect_fd(c, target);
  if (rc < 0)
    return rc;
  if (src != target)
    FAIL_IF(dup2(src, target) < 0);
  else
    FAIL_IF(fcntl(target, F_SETFD, 0) < 0);
  c->kept[c->nkept++] = target;
  return 0;
}

/*
 * Capabilities, bit N = capability N. Phase 0 (before the uid change, which
 * needs CAP_SETPCAP to drop from the bounding set) limits the bounding set
 * to `keep`; phase 1 (after it) sets effective/permitted/inheritable to
 * `keep` as far as still permitted (a non-root uid has none left) and
 * clears the ambient set.
 */
static int keep_caps(uint64_t keep, int phase) {
  if (phase == 0) {
    for (int cap = 0; cap < 64; cap++) {
      if (keep & (1ULL << cap))
        continue;
      if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
        if (errno == EINVAL)
          break; /* past the kernel's last capability */
        return -errno;
      }
    }
    return 0;
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return -errno;
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d) < 0)
    return -errno;
  for (int i = 0; i < 2; i++) {
    uint32_t half = (uint32_t)(keep >> (32 * i)) & d[i].permitted;
    d[i].effective = d[i].permitted = d[i].inheritable = half;
  }
  if (syscall(SYS_capset, &h, d) < 0)
    return -errno;
  return 0;
}

static int close_fds(struct ctx *c, struct step *s) {
  unsigned int low = (unsigned int)s->arg[0];
  FAIL_IF(syscall(SYS_close_range, low, ~0U, CLOSE_RANGE_CLOEXEC) < 0);
  for (int i = 0; i < c->nkept; i++)
    if ((unsigned int)c->kept[i] >= low)
      FAIL_IF(fcntl(c->kept[i], F_SETFD, 0) < 0);
  return 0;
}

/* Without put_old: pivot_root(".", ".") as runc does, the old root stacked
 * on the new one and detached right away. With put_old (relative to the new
 * root): the old root stays reachable there, so later steps can bind host
 * files while every other path already resolves inside the new root. */
static int pivot_root_into(struct step *s) {
  if (s->nstr != 2)
    return -EINVAL;
  FAIL_IF(chdir(s->str[0]) < 0);
  if (s->str[1][0]) {
    FAIL_IF(syscall(SYS_pivot_root, ".", s->str[1]) < 0);
  } else {
    FAIL_IF(syscall(SYS_pivot_root, ".", ".") < 0);
    FAIL_IF(umount2(".", MNT_DETACH) < 0);
  }
  FAIL_IF(chdir("/") < 0);
  return 0;
}

/* execvpe without allocation: the PATH given by the plan, not our own. */
static int exec_command(struct step *s) {
  const char *file = s->str[0];
  nsbox_unblock_all_signals();
  if (s->arg[2] >= 0) {
    /* A program opened by the caller outside this process's root. */
    syscall(SYS_execveat, (int)s->arg[2], "", s->argv, s->envp, AT_EMPTY_PATH);
    return -errno;
  }
  if (strchr(file, '/') || !s->path) {
    execve(file, s->argv, s->envp);
    return -errno;
  }
  int seen_eacces = 0, last = ENOENT;
  const char *p = s->path;
  char buf[4096];
  for (;;) {
    const char *colon = strchr(p, ':');
    size_t len = colon ? (size_t)(colon - p) : strlen(p);
    size_t flen = strlen(file);
    if (len + flen + 2 <= sizeof buf) {
      size_t n = 0;
      if (len == 0)
        buf[n++] = '.';
      else {
        memcpy(buf, p, len);
        n = len;
      }
      buf[n++] = '/';
      memcpy(buf + n, file, flen + 1);
      execve(buf, s->argv, s->envp);
      int err = errno;
      if (err == EACCES)
        seen_eacces = 1;
      else if (err != ENOENT && err != ENOTDIR)
        last = err;
    }
    if (!colon)
      break;
    p = colon + 1;
  }
  return -(seen_eacces ? EACCES : last);
}

int nsbox_run_child_step(struct ctx *c, struct step *s) {
  switch (s->op) {
  case OP_WAIT_RELEASE:
    return wait_release(c);
  case OP_SETGID_UID:
    return set_ids(s);
  case OP_SETHOSTNAME:
    FAIL_IF(s->nstr != 1 || sethostname(s->str[0], strlen(s->str[0])) < 0);
    return 0;
  case OP_LOOPBACK_UP:
    return loopback_up();
  case OP_MOUNT:
    return do_mount(s);
  case OP_CHDIR:
    return s->nstr != 1 ? -EINVAL : nsbox_chdir_scoped(s->str[0], (int)s->arg[0]);
  case OP_SETSID:
    FAIL_IF(setsid() < 0);
    return 0;

  case OP_PTY:
    return make_pty(c, (int)s->arg[0], (int)s->arg[1], (int)s->arg[2]);
  case OP_SEND_MNTNS:
    return send_mount_namespace((int)s->arg[0]);
  case OP_SET_CTTY:
    FAIL_IF(ioctl((int)s->arg[0], TIOCSCTTY, 0) < 0);
    return 0;
  case OP_STDIO:
    return setup_stdio(c, s);
  case OP_KEEP_FD:
    return keep_fd(c, s);
  case OP_CLOSE_FDS:
    return close_fds(c, s);
  case OP_RLIMIT: {
    struct rlimit rl = {.rlim_cur = (rlim_t)s->arg[1], .rlim_max = (rlim_t)s->arg[2]};
    FAIL_IF(setrlimit((int)s->arg[0], &rl) < 0);
    return 0;
  }
  case OP_CAPS:
    return keep_caps((uint64_t)s->arg[0], (int)s->arg[1]);
  case OP_NO_NEW_PRIVS:
    FAIL_IF(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0);
    return 0;
  case OP_PDEATHSIG:
    FAIL_IF(prctl(PR_SET_PDEATHSIG, (int)s->arg[0], 0, 0, 0) < 0);
    return 0;
  case OP_UMASK:
    umask((mode_t)s->arg[0]);
    return 0;
  case OP_MKDIR:
    return s->nstr != 1 ? -EINVAL : nsbox_mkdir_scoped(s->str[0], (mode_t)s->arg[0], (int)s->arg[1]);
  case OP_TOUCH:
    return s->nstr != 1 ? -EINVAL : nsbox_touch_scoped(s->str[0], (mode_t)s->arg[0], (int)s->arg[1]);
  case OP_SYMLINK:
    return s->nstr != 2 ? -EINVAL : nsbox_symlink_scoped(s->str[0], s->str[1], (int)s->arg[0]);
  case OP_COPY_FILE:
    return s->nstr != 1 ? -EINVAL : nsbox_copy_file((int)s->arg[1], s->str[0], (mode_t)s->arg[0]);
  case OP_PIVOT_ROOT:
    return pivot_root_into(s);
  case OP_UMOUNT:
    FAIL_IF(s->nstr != 1 || umount2(s->str[0], (int)s->arg[0]) < 0);
    return 0;
  case OP_RMDIR:
    FAIL_IF(s->nstr != 1 || rmdir(s->str[0]) < 0);
    return 0;
  case OP_SECCOMP: {
    struct sock_fprog prog = {.len = (unsigned short)s->arg[0], .filter = (struct sock_filter *)s->data};
    FAIL_IF(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0);
    return 0;
  }
  case OP_EXEC:
    return exec_command(s);
  default:
    return -EOPNOTSUPP;
  }
}

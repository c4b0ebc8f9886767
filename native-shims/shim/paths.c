/*
 * Path steps (mkdir, touch, symlink, mount, chdir) with a resolution scope.
 * SCOPE_HOST resolves as the kernel normally does: only for paths nsbox
 * itself chose, before pivot_root. The two root scopes resolve inside the
 * process's current root with openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS):
 * an image symlink to "/x" means <root>/x, ".." stops at the root, and
 * /proc/<pid>/{root,cwd,fd/N} links are refused, so a hostile image cannot
 * steer a setup step (which still holds its capabilities) onto the host.
 * SCOPE_ROOT_NO_SYMLINKS refuses every symlink (kernel filesystem mount
 * points such as /proc must be real directories).
 * Mounts on a resolved target go through the fd: move_mount for binds,
 * mount_setattr for read-only/nosuid/... changes, fchdir + mount(".") for
 * new filesystems. Async-signal-safe only: raw syscalls, no allocation.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

/* From linux/mount.h (not included: it clashes with glibc's sys/mount.h). */
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

struct nsbox_mount_attr {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};

#define FAIL_IF(cond) \
  do {                \
    if (cond)         \
      return -errno;  \
  } while (0)

static int close_keep_errno(int fd) {
  int saved = errno;
  close(fd);
  errno = saved;
  return 0;
}

/* Opens `path` under the scope's rules; returns an fd or -errno. */
static int open_scoped(const char *path, int scope, int flags, mode_t mode) {
  if (scope == SCOPE_HOST) {
    int fd = (flags & O_CREAT) ? open(path, flags | O_CLOEXEC, mode) : open(path, flags | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
  }
  int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return -errno;
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (scope == SCOPE_ROOT_NO_SYMLINKS ? RESOLVE_NO_SYMLINKS : 0);
  int fd = (int)syscall(SYS_openat2, root, path, &how, sizeof how);
  int err = errno;
  close(root);
  return fd < 0 ? -err : fd;
}

/* Splits "/a/b/c" into the parent "/a/b" (in buf) and the last name. */
static int split_parent(const char *path, char *buf, size_t cap, const char **name) {
  size_t n = strlen(path);
  if (n == 0 || n >= cap)
    return -ENAMETOOLONG;
  memcpy(buf, path, n + 1);
  char *slash = strrchr(buf, '/');
  if (!slash) {
    *name = path;
    buf[0] = '.';
    buf[1] = 0;
    return 0;
  }
  *name = path + (slash - buf) + 1;
  if (**name == 0)
    return -EINVAL; /* a trailing slash: the plan builder normalises paths */
  if (slash == buf)
    slash[1] = 0; /* parent is "/" */
  else
    *slash = 0;
  return 0;
}

static int open_parent(const char *path, int scope, const char **name) {
  char parent[4096];
  int rc = split_parent(path, parent, sizeof parent, name);
  if (rc < 0)
    return rc;
  return open_scoped(parent, scope, O_PATH | O_DIRECTORY, 0);
}

/* For steps that open a file inside the root themselves (e.g. /dev/ptmx). */
int nsbox_open_scoped_fd(const char *path, int flags) { return open_scoped(path, SCOPE_ROOT, flags, 0); }

int nsbox_mkdir_scoped(const char *path, mode_t mode, int scope) {
  const char *name;
  int dir = open_parent(path, scope, &name);
  if (dir < 0)
    return dir;
  int rc = mkdirat(dir, name, mode);
  int err = errno;
  close(dir);
  if (rc == 0)
    return 0;
  if (err != EEXIST)
    return -err;
  /* It exists: it must be a directory, or a link that stays inside the scope to one. */
  int fd = open_scoped(path, scope, O_PATH | O_DIRECTORY, 0);
  if (fd < 0)
    return fd;
  close(fd);
  return 0;
}

int nsbox_touch_scoped(const char *path, mode_t mode, int scope) {
  /* O_RDONLY|O_NONBLOCK: a FIFO planted by an image must not block setup. */
  int fd = open_scoped(path, scope, O_RDONLY | O_CREAT | O_NONBLOCK | O_NOCTTY, mode);
  if (fd < 0)
    return fd;
  close(fd);
  return 0;
}

int nsbox_symlink_scoped(const char *target, const char *path, int scope) {
  const char *name;
  int dir = open_parent(path, scope, &name);
  if (dir < 0)
    return dir;
  int rc = symlinkat(target, dir, name);
  int err = errno;
  close(dir);
  return rc < 0 && err != EEXIST ? -err : 0;
}

int nsbox_chdir_scoped(const char *path, int scope) {
  if (scope == SCOPE_HOST)
    return chdir(path) < 0 ? -errno : 0;
  int fd = open_scoped(path, scope, O_PATH | O_DIRECTORY, 0);
  if (fd < 0)
    return fd;
  int rc = fchdir(fd);
  close_keep_errno(fd);
  return rc < 0 ? -errno : 0;
}

static uint64_t mount_attrs(unsigned long flags) {
  uint64_t a = 0;
  if (flags & MS_RDONLY)
    a |= MOUNT_ATTR_RDONLY;
  if (flags & MS_NOSUID)
    a |= MOUNT_ATTR_NOSUID;
  if (flags & MS_NODEV)
    a |= MOUNT_ATTR_NODEV;
  if (flags & MS_NOEXEC)
    a |= MOUNT_ATTR_NOEXEC;
  return a;
}

/* MS_REMOUNT|MS_BIND (+MS_REC for the whole subtree): adds the attributes. */
static int set_attrs(int target_fd, unsigned long flags) {
  struct nsbox_mount_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attr_set = mount_attrs(flags);
  unsigned int at = AT_EMPTY_PATH | ((flags & MS_REC) ? AT_RECURSIVE : 0);
  FAIL_IF(syscall(SYS_mount_setattr, target_fd, "", at, &attr, sizeof attr) < 0);
  return 0;
}

/* A bind of `source` (resolved as given: nsbox's own host paths) onto the target fd. */
/*
 * The mount tree to bind: `source`, or, with `beneath`, the path `beneath`
 * names inside the directory `source`, opened with no symlink and no ".."
 * out of it. That walk happens here, as the bind is made, so a link planted
 * in a volume after nsbox checked the path (the container writes it) cannot
 * lead the bind to one of the host's files.
 */
static int source_tree(const char *source, const char *beneath, unsigned int how) {
  if (!beneath || !beneath[0])
    return (int)syscall(SYS_open_tree, AT_FDCWD, source, how);
  int dir = open(source, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    return -1;
  struct open_how oh;
  memset(&oh, 0, sizeof oh);
  oh.flags = O_PATH | O_CLOEXEC;
  oh.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  int fd = (int)syscall(SYS_openat2, dir, beneath, &oh, sizeof oh);
  int err = errno;
  close(dir);
  if (fd < 0) {
    errno = err;
    return -1;
  }
  int tree = (int)syscall(SYS_open_tree, fd, "", how | AT_EMPTY_PATH);
  err = errno;
  close(fd);
  errno = err;
  return tree;
}

static int bind_onto(const char *source, const char *beneath, int target_fd, unsigned long flags) {
  unsigned int how = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | ((flags & MS_REC) ? AT_RECURSIVE : 0);
  int tree = source_tree(source, beneath, how);
  if (tree < 0)
    return -errno;
  long rc = syscall(SYS_move_mount, tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  int err = errno;
  close(tree);
  return rc < 0 ? -err : 0;
}

static const char *or_null(const char *s) { return s && s[0] ? s : NULL; }

int nsbox_mount_scoped(const char *source, const char *target, const char *fstype, unsigned long flags,
                       const char *data, int scope, const char *beneath) {
  int recursive_remount = (flags & MS_REMOUNT) && (flags & MS_REC);
  if (beneath && beneath[0] && !(flags & MS_BIND))
    return -EINVAL;
  if (scope == SCOPE_HOST && !recursive_remount && !(beneath && beneath[0])) {
    FAIL_IF(mount(or_null(source), target, or_null(fstype), flags, or_null(data)) < 0);
    return 0;
  }
  int is_new_fs = !(flags & (MS_REMOUNT | MS_BIND));
  int fd = open_scoped(target, scope, O_PATH | (is_new_fs ? O_DIRECTORY : 0), 0);
  if (fd < 0)
    return fd;
  int rc = 0;
  if (flags & MS_REMOUNT) {
    rc = set_attrs(fd, flags);
  } else if (flags & MS_BIND) {
    rc = bind_onto(source, beneath, fd, flags);
  } else {
    /* A new filesystem on a directory: mount on "." after fchdir, so the
     * kernel never walks the path again. Later steps resolve from "/". */
    if (fchdir(fd) < 0 || mount(or_null(source), ".", or_null(fstype), flags, or_null(data)) < 0)
      rc = -errno;
  }
  close(fd);
  return rc;
}

/* Copies a file the caller opened (nsbox's own, e.g. the pause) to a new
 * file, so a process gets a private copy instead of a bind of the user's
 * file. Reads at explicit offsets: the open file is shared with the caller. */
int nsbox_copy_file(int source_fd, const char *target, mode_t mode) {
  int out = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (out < 0)
    return -errno;
  int rc = 0;
  off_t offset = 0;
  for (;;) {
    ssize_t n = sendfile(out, source_fd, &offset, 1 << 20);
    if (n == 0)
      break;
    if (n < 0) {
      if (errno == EINTR)
        continue;
      rc = -errno;
      break;
    }
  }
  if (close(out) < 0 && rc == 0)
    rc = -errno;
  return rc;
}

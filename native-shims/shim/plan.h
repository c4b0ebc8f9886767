/*
 * The plan format shared with src/native/plan-encoding.ts. TypeScript decides
 * what happens and in which order; this library only executes the steps.
 *
 * Three sections run in two processes:
 *   middle: the "middle" process M (a vfork-like child of the caller, still in
 *           the caller's namespaces) runs these, e.g. setns into a pod;
 *   M then clones the final process F with CLONE_PARENT, so F is the caller's
 *           child (the caller reaps it and gets its real exit status), or,
 *           with PLAN_FINAL_IS_MIDDLES_CHILD, as M's own child;
 *   after:  M runs these once F exists, e.g. newuidmap F, then release F;
 *   child:  F runs these, ending with exec.
 * With OP_EXEC_MIDDLE among the after steps, M finally execs that command
 * (a supervisor that stays F's parent) instead of exiting.
 * Any failure is reported as (section, step index, errno) in struct
 * nsbox_result, which lives in the caller's memory (CLONE_VM).
 */
#ifndef NSBOX_PLAN_H
#define NSBOX_PLAN_H

#include <stdint.h>

#define NSBOX_PLAN_MAGIC 0x5842534eu /* "NSBX" */
#define NSBOX_PLAN_VERSION 2u

enum nsbox_section { SECTION_SETUP = 0, SECTION_MIDDLE = 1, SECTION_AFTER = 2, SECTION_CHILD = 3 };

enum nsbox_op {
  /* middle */
  OP_SETNS_FD = 1,        /* arg0 fd, arg1 nstype */
  OP_SETNS_PIDFD = 2,     /* arg0 pidfd, arg1 CLONE_NEW* flags */
  OP_UNSHARE = 3,         /* arg0 flags */
  OP_ENTER_PIDNS = 4,     /* the rest of M's work goes on in M2, cloned (CLONE_PARENT) into the
                             PID namespace M joined, so F can have one of its own nested in it:
                             the kernel makes one only for a member of its parent namespace */
  /* OP_MOUNT, OP_MKDIR and OP_SYMLINK may run in the middle section too. */
  /* after (in M, F's pid known) */
  OP_RUN = 10,            /* strings: argv; "\x01PID" in an argument becomes F's pid */
  OP_WRITE_PROC = 11,     /* strings: file name under /proc/<F>/, content */
  OP_RELEASE = 12,        /* let F continue past OP_WAIT_RELEASE */
  OP_EXEC_MIDDLE = 13,    /* once F has exec'd, M execs this in a new session with
                             stdio on /dev/null: arg0 argc, arg1 envc, arg2 nkeep;
                             strings: file, argv..., envp..., "", then nkeep fd
                             numbers, passed on as fds 3, 4, ... */
  /* child (in F) */
  OP_WAIT_RELEASE = 20,
  OP_SETGID_UID = 21,     /* arg0 gid, arg1 uid, arg2 1 = also setgroups(0) */
  OP_SETHOSTNAME = 22,    /* strings: hostname */
  OP_LOOPBACK_UP = 23,
  OP_MOUNT = 24,          /* arg0 flags, arg1 scope; strings: source, target, fstype, data ("" = NULL) */
  OP_CHDIR = 25,          /* arg0 scope; strings: path */
  OP_SETSID = 26,
  OP_SET_CTTY = 27,       /* arg0 fd */
  OP_STDIO = 28,          /* arg0..2 fds for 0,1,2 (-1 = /dev/null) */
  OP_KEEP_FD = 29,        /* arg0 source fd, arg1 target fd (>= 3), survives exec */
  OP_CLOSE_FDS = 30,      /* mark every fd >= arg0 close-on-exec, except kept ones */
  OP_RLIMIT = 31,         /* arg0 resource, arg1 soft, arg2 hard */
  OP_NO_NEW_PRIVS = 32,
  OP_PDEATHSIG = 33,      /* arg0 signal */
  OP_UMASK = 34,          /* arg0 mask */
  OP_MKDIR = 35,          /* arg0 mode, arg1 scope; strings: path (an existing directory is fine) */
  OP_TOUCH = 36,          /* arg0 mode, arg1 scope; strings: path (an existing one is fine) */
  OP_SYMLINK = 37,        /* arg0 scope; strings: target, path (an existing path is fine) */
  OP_PIVOT_ROOT = 38,     /* strings: new root, put_old ("" = stack the old root on
                             the new one and detach it at once) */
  OP_UMOUNT = 39,         /* arg0 umount2 flags; strings: path */
  OP_RMDIR = 41,          /* strings: path */
  OP_CAPS = 42,           /* arg0 mask of capabilities to keep, arg1 phase: 0 = drop
                             the others from the bounding set (before OP_SETGID_UID),
                             1 = effective/permitted/inheritable = mask (as far as
                             still permitted), ambient cleared (after it) */
  OP_COPY_FILE = 43,      /* arg0 mode, arg1 source fd (read at offset 0); strings: new file (host scope) */
  OP_PTY = 44,            /* arg0 unix socket, arg1 rows, arg2 cols: a pty made inside the root (/dev/ptmx), its
                             master sent over the socket, the slave as fds 0-2 and the
                             controlling terminal (after OP_SETSID) */
  OP_DAEMONIZE = 47,      /* fork; the parent exits 0, the child goes on: orphaned inside the pod's
                             PID namespace, it is reparented to (and reaped by) the pod's PID 1 */
  OP_SEND_MNTNS = 45,     /* arg0 unix socket: an fd of F's mount namespace is sent over it */      /* arg0 mode; strings: source, new file (host scope) */
  OP_SECCOMP = 46,        /* arg0 number of BPF instructions; the program (struct
                             sock_filter[]) follows the step header: installed with
                             seccomp(SECCOMP_SET_MODE_FILTER), after OP_NO_NEW_PRIVS */
  OP_EXEC = 40,           /* arg0 argc, arg1 envc, arg2 fd to execveat (-1: by name);
                             strings: file, argv..., envp..., PATH */
};

/* How path steps resolve their paths (see paths.c). */
enum nsbox_scope {
  SCOPE_HOST = 0,             /* as given: nsbox's own paths, before pivot_root */
  SCOPE_ROOT = 1,             /* inside the current root, no /proc magic links */
  SCOPE_ROOT_NO_SYMLINKS = 2, /* inside the current root, no symlinks at all */
};

#define PLAN_FINAL_IS_MIDDLES_CHILD 1u

struct nsbox_plan_header {
  uint32_t magic;
  uint32_t version;
  uint64_t clone_flags; /* namespaces for F: CLONE_NEW* */
  uint32_t flags;       /* PLAN_* */
  uint32_t counts[3];   /* steps in the middle, after and child sections */
};

struct nsbox_step_header {
  uint32_t op;
  uint32_t size; /* whole step in bytes, a multiple of 8 */
  int64_t arg[4];
  uint32_t nstr;
  uint32_t reserved;
  /* nstr NUL-terminated strings follow */
};

struct nsbox_result {
  int32_t pid;     /* F's pid in the caller's PID namespace, or 0 */
  int32_t section; /* enum nsbox_section of the failure, or -1 */
  int32_t step;    /* index of the failed step inside its section */
  int32_t err;     /* errno of the failure */
  int32_t detail;  /* OP_RUN: wait status of the helper */
  int32_t middle_status; /* wait status of M, unless it exec'd */
  int32_t middle_pid;    /* M's pid */
  int32_t middle_execd;  /* 1 when M exec'd OP_EXEC_MIDDLE: M lives on */
  int32_t middle2_pid;   /* OP_ENTER_PIDNS: M2's pid (the caller's child, reaped by nsbox_spawn) */
};

#endif

/* Internal declarations of the nsbox shim library. */
#ifndef NSBOX_SHIM_H
#define NSBOX_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "plan.h"

/* Fds a plan may pass on: a pod may publish a range of 1000 ports, each its own listener. */
#define NSBOX_MAX_KEPT_FDS 4096

struct step {
  uint32_t op;
  int64_t arg[4];
  uint32_t nstr;
  char **str;       /* nstr strings, NULL-terminated array */
  char **argv;      /* OP_EXEC, OP_RUN: NULL-terminated */
  char **envp;      /* OP_EXEC: NULL-terminated */
  const char *path; /* OP_EXEC: PATH to search, or NULL */
  int *pid_args;    /* OP_RUN: indexes of "\x01PID" arguments, -1 terminated */
  int *keep;        /* OP_EXEC_MIDDLE: fds to pass on as 3, 4, ... */
  const void *data; /* OP_SECCOMP: the program, in the caller's buffer */
  int nkeep;
};

struct ctx {
  uint64_t clone_flags;
  uint32_t plan_flags;
  struct step *exec_middle; /* OP_EXEC_MIDDLE, run last by M */
  uint32_t exec_middle_index;
  struct step *steps[4];
  uint32_t count[4];
  struct nsbox_result *result;
  char *stack_child, *stack_run, *stack_daemon, *stack_middle2;
  uint32_t resume_index; /* OP_DAEMONIZE: where the new process goes on */
  uint32_t middle_resume_index; /* OP_ENTER_PIDNS: where M2 goes on */
  int in_pidns;          /* M2 is a member of the joined PID namespace: F's pid comes from its pidfd */
  size_t stack_size;
  int status_pipe[2];  /* F -> M: closed on exec (CLOEXEC) */
  int release_pipe[2]; /* M -> F: one byte = go on */
  pid_t child;
  char pid_text[16];
  int kept[NSBOX_MAX_KEPT_FDS];
  int passed_tmp[NSBOX_MAX_KEPT_FDS]; /* OP_EXEC_MIDDLE: fds out of the way before they go to 3, 4, ... */
  int nkept;
};

/* plan.c: parse in the caller, where malloc is allowed. */
int nsbox_parse_plan(const uint8_t *buf, size_t len, struct ctx *c);
void nsbox_free_plan(struct ctx *c);

/* steps.c: run in the clone children; async-signal-safe only. */
int nsbox_run_middle_step(struct ctx *c, struct step *s);
int nsbox_run_after_step(struct ctx *c, struct step *s);
int nsbox_run_child_step(struct ctx *c, struct step *s);
int nsbox_exec_middle(struct ctx *c, struct step *s);
void nsbox_reset_signal_handlers(void);

/* paths.c: path steps resolved by scope (enum nsbox_scope); 0 or -errno. */
int nsbox_mkdir_scoped(const char *path, mode_t mode, int scope);
int nsbox_touch_scoped(const char *path, mode_t mode, int scope);
int nsbox_symlink_scoped(const char *target, const char *path, int scope);
int nsbox_chdir_scoped(const char *path, int scope);
/* beneath: with MS_BIND, the path inside the directory `source` to bind, opened with no symlink (or NULL). */
int nsbox_mount_scoped(const char *source, const char *target, const char *fstype, unsigned long flags,
                       const char *data, int scope, const char *beneath);
int nsbox_copy_file(int source_fd, const char *target, mode_t mode);
int nsbox_open_scoped_fd(const char *path, int flags);
/* sys.c: the pid of a pidfd's process as this /proc sees it (its fdinfo), or -errno. */
int nsbox_pidfd_pid(int pidfd);
void nsbox_unblock_all_signals(void);

#endif

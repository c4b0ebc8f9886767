/*
 * nsbox_spawn: the one entry point called from TypeScript (ffi-rs).
 *
 * The caller thread clones M with CLONE_VM|CLONE_VFORK (no page-table copy,
 * however large Node's heap is) and sleeps until M exits. M runs the middle
 * steps (setns/unshare), clones F with CLONE_PARENT (so F is the caller's
 * child, in the namespaces M joined), runs the after steps (uid maps,
 * release), then waits until F has exec'd (its CLOEXEC status pipe closes).
 * Failures are written straight into the caller's result struct.
 * With OP_ENTER_PIDNS, M hands its remaining work to M2, a member of the PID
 * namespace M joined, and waits for it (CLONE_VFORK).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim.h"

#define STACK_SIZE (256 * 1024)

static void record(struct ctx *c, int section, uint32_t step, int rc) {
  c->result->section = section;
  c->result->step = (int32_t)step;
  c->result->err = -rc;
}

static void format_pid(char *out, pid_t pid) {
  char tmp[16];
  int n = 0, k = 0;
  do {
    tmp[n++] = (char)('0' + pid % 10);
    pid /= 10;
  } while (pid);
  while (n)
    out[k++] = tmp[--n];
  out[k] = 0;
}

static int child_steps(struct ctx *c, uint32_t from);

/* OP_DAEMONIZE: the rest of the plan runs in a new process (same memory, its own stack), and F exits 0.
   Orphaned inside the pod's PID namespace, that process is reparented to (and reaped by) the pod's PID 1. */
static int child_resume(void *arg) {
  struct ctx *c = arg;
  return child_steps(c, c->resume_index);
}

static int child_main(void *arg) {
  struct ctx *c = arg;
  close(c->status_pipe[0]);
  close(c->release_pipe[1]);
  return child_steps(c, 0);
}

static int child_steps(struct ctx *c, uint32_t from) {
  for (uint32_t i = from; i < c->count[SECTION_CHILD]; i++) {
    if (c->steps[SECTION_CHILD][i].op == OP_DAEMONIZE) {
      c->resume_index = i + 1;
      pid_t g = clone(child_resume, c->stack_daemon + c->stack_size, CLONE_VM | SIGCHLD, c);
      if (g < 0) {
        record(c, SECTION_CHILD, i, -errno);
        _exit(127);
      }
      _exit(0); /* the status pipe stays open in the new process until its exec */
    }
    int rc = nsbox_run_child_step(c, &c->steps[SECTION_CHILD][i]);
    if (rc < 0) {
      record(c, SECTION_CHILD, i, rc);
      _exit(127);
    }
  }
  record(c, SECTION_CHILD, c->count[SECTION_CHILD], -ENOEXEC); /* plan did not exec */
  _exit(127);
}

static void wait_for_exec(struct ctx *c) {
  char b;
  for (;;) {
    ssize_t r = read(c->status_pipe[0], &b, 1);
    if (r < 0 && errno == EINTR)
      continue;
    break; /* EOF: F exec'd or died; a byte is never written */
  }
}

static int middle_steps(struct ctx *c, uint32_t from);

/* OP_ENTER_PIDNS: M2 goes on with M's work from the next step. */
static int middle_resume(void *arg) {
  struct ctx *c = arg;
  return middle_steps(c, c->middle_resume_index);
}

static int middle_main(void *arg) {
  struct ctx *c = arg;
  nsbox_reset_signal_handlers(); /* Node's handlers must never run here */
  return middle_steps(c, 0);
}

/* F's pid in the caller's namespace. From a member of a nested PID namespace, clone() returns
   the pid there: the pidfd's fdinfo, read in the caller's /proc, gives the caller's number. */
static pid_t clone_final(struct ctx *c, int flags) {
  if (!c->in_pidns)
    return clone(child_main, c->stack_child + c->stack_size, flags, c);
  int pidfd = -1;
  pid_t pid = clone(child_main, c->stack_child + c->stack_size, flags | CLONE_PIDFD, c, &pidfd);
  if (pid < 0)
    return pid;
  int host = nsbox_pidfd_pid(pidfd);
  close(pidfd);
  if (host < 0) {
    kill(pid, SIGKILL); /* still our namespace's number: good enough to kill it; the caller reaps it */
    errno = -host;
    return -1;
  }
  return host;
}

static int middle_steps(struct ctx *c, uint32_t from) {
  for (uint32_t i = from; i < c->count[SECTION_MIDDLE]; i++) {
    if (c->steps[SECTION_MIDDLE][i].op == OP_ENTER_PIDNS) {
      c->middle_resume_index = i + 1;
      c->in_pidns = 1;
      /* CLONE_PARENT: M2 is the caller's child too, so F (cloned by M2 with CLONE_PARENT) stays the caller's. */
      pid_t m2 = clone(middle_resume, c->stack_middle2 + c->stack_size, CLONE_VM | CLONE_VFORK | CLONE_PARENT, c);
      if (m2 < 0) {
        record(c, SECTION_MIDDLE, i, -errno);
        _exit(1);
      }
      c->result->middle2_pid = m2; /* M2 has exited by now: the caller reaps it */
      _exit(c->result->section < 0 ? 0 : 1);
    }
    int rc = nsbox_run_middle_step(c, &c->steps[SECTION_MIDDLE][i]);
    if (rc < 0) {
      record(c, SECTION_MIDDLE, i, rc);
      _exit(1);
    }
  }
  if (pipe2(c->status_pipe, O_CLOEXEC) < 0 || pipe2(c->release_pipe, O_CLOEXEC) < 0) {
    record(c, SECTION_SETUP, 1, -errno);
    _exit(1);
  }
  int own_child = (c->plan_flags & PLAN_FINAL_IS_MIDDLES_CHILD) != 0;
  int relation = own_child ? SIGCHLD : CLONE_PARENT;
  pid_t pid = clone_final(c, relation | CLONE_VM | (int)c->clone_flags);
  if (pid < 0) {
    record(c, SECTION_SETUP, 2, -errno);
    _exit(1);
  }
  c->child = pid;
  c->result->pid = pid;
  format_pid(c->pid_text, pid);
  close(c->status_pipe[1]);
  close(c->release_pipe[0]);
  int failed = 0;
  for (uint32_t i = 0; i < c->count[SECTION_AFTER]; i++) {
    struct step *s = &c->steps[SECTION_AFTER][i];
    if (s->op == OP_EXEC_MIDDLE) { /* last thing M does, once F runs */
      c->exec_middle = s;
      c->exec_middle_index = i;
      continue;
    }
    int rc = nsbox_run_after_step(c, s);
    if (rc < 0) {
      record(c, SECTION_AFTER, i, rc);
      kill(pid, SIGKILL); /* reaped below, or by the caller */
      failed = 1;
      break;
    }
  }
  close(c->release_pipe[1]);
  wait_for_exec(c);
  if (!failed && c->result->section < 0 && c->exec_middle) {
    int rc = nsbox_exec_middle(c, c->exec_middle); /* returns only on failure */
    record(c, SECTION_AFTER, c->exec_middle_index, rc);
    kill(pid, SIGKILL);
    failed = 1;
  }
  if (own_child && (failed || c->result->section >= 0)) {
    while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR) {
    }
  }
  _exit(failed ? 1 : 0);
}

int nsbox_spawn(const uint8_t *plan, uint32_t len, uint8_t *result_out) {
  struct nsbox_result *res = (struct nsbox_result *)(void *)result_out;
  memset(res, 0, sizeof *res);
  res->section = -1;

  struct ctx *c = calloc(1, sizeof *c);
  if (!c)
    return -ENOMEM;
  c->result = res;
  c->status_pipe[0] = c->status_pipe[1] = c->release_pipe[0] = c->release_pipe[1] = -1;
  int rc = nsbox_parse_plan(plan, len, c);
  if (rc < 0) {
    res->section = SECTION_SETUP;
    res->step = 0;
    res->err = -rc;
    nsbox_free_plan(c);
    free(c);
    return rc;
  }

  c->stack_size = STACK_SIZE;
  char *stacks = mmap(NULL, 5 * STACK_SIZE, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stacks == MAP_FAILED) {
    rc = -errno;
    res->section = SECTION_SETUP;
    res->err = -rc;
    nsbox_free_plan(c);
    free(c);
    return rc;
  }
  c->stack_child = stacks + STACK_SIZE;
  c->stack_run = stacks + 2 * STACK_SIZE;
  c->stack_daemon = stacks + 3 * STACK_SIZE;
  c->stack_middle2 = stacks + 4 * STACK_SIZE;

  int was_dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  /* Block every signal so that neither M nor F ever runs a Node handler. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t m = clone(middle_main, stacks + STACK_SIZE, CLONE_VM | CLONE_VFORK | SIGCHLD, c);
  int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);

  int keep_stacks = 0;
  if (m < 0) {
    res->section = SECTION_SETUP;
    res->step = 3;
    res->err = clone_errno;
  } else if (res->middle_execd) {
    res->middle_pid = m; /* M became the command of OP_EXEC_MIDDLE: the caller's child now */
  } else {
    res->middle_pid = m;
    int status = 0;
    while (waitpid(m, &status, __WALL) < 0 && errno == EINTR) {
    }
    res->middle_status = status;
    /* M killed from outside: F may still be running on our stack. */
    keep_stacks = !WIFEXITED(status);
    /* M2 has exited unless M was killed (then it may still run: reaped when it is done, if it is). */
    if (res->middle2_pid > 0)
      while (waitpid(res->middle2_pid, NULL, __WALL | (keep_stacks ? WNOHANG : 0)) < 0 && errno == EINTR) {
      }
    if (keep_stacks && res->section < 0) {
      res->section = SECTION_SETUP;
      res->step = 4;
      res->err = EINTR;
    }
  }
  /* F's setresuid to another uid made the memory it shared with us
   * non-dumpable (the kernel marks the mm, not the task): our /proc files
   * would turn root's and newuidmap would refuse our next pod. Once M is
   * done, every process that shared it has exec'd or died, so the caller's
   * own setting comes back; not while F may still run on our memory. */
  if (!keep_stacks && was_dumpable == 1 && prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1)
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  if (!keep_stacks)
    munmap(stacks, 5 * STACK_SIZE);
  nsbox_free_plan(c);
  free(c);
  return res->section < 0 ? 0 : -res->err;
}

/* Parses the binary plan (see plan.h) into arrays the children can use
 * without allocating. Runs in the caller, before any clone. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

static const char PID_PLACEHOLDER[] = "\x01PID";

static char **null_terminated(char **src, uint32_t n) {
  char **v = calloc(n + 1, sizeof(char *));
  if (v && n)
    memcpy(v, src, n * sizeof(char *));
  return v;
}

static int find_pid_args(struct step *s, char **argv, uint32_t argc) {
  s->pid_args = malloc((argc + 1) * sizeof(int));
  if (!s->pid_args)
    return -ENOMEM;
  int k = 0;
  for (uint32_t i = 0; i < argc; i++)
    if (strcmp(argv[i], PID_PLACEHOLDER) == 0)
      s->pid_args[k++] = (int)i;
  s->pid_args[k] = -1;
  return 0;
}

static int finish_step(struct step *s) {
  if (s->op == OP_EXEC || s->op == OP_EXEC_MIDDLE) {
    uint64_t argc = (uint64_t)s->arg[0], envc = (uint64_t)s->arg[1];
    uint64_t nkeep = s->op == OP_EXEC_MIDDLE ? (uint64_t)s->arg[2] : 0;
    if (argc < 1 || nkeep > NSBOX_MAX_KEPT_FDS || 1 + argc + envc + 1 + nkeep != s->nstr)
      return -EINVAL;
    if (nkeep) {
      s->keep = calloc(nkeep, sizeof(int));
      if (!s->keep)
        return -ENOMEM;
      for (uint64_t i = 0; i < nkeep; i++)
        s->keep[i] = atoi(s->str[1 + argc + envc + 1 + i]);
      s->nkeep = (int)nkeep;
    }
    s->argv = null_terminated(s->str + 1, (uint32_t)argc);
    s->envp = null_terminated(s->str + 1 + argc, (uint32_t)envc);
    s->path = s->str[1 + argc + envc][0] ? s->str[1 + argc + envc] : NULL;
    if (!s->argv || !s->envp)
      return -ENOMEM;
    if (s->op == OP_EXEC_MIDDLE)
      return find_pid_args(s, s->argv, (uint32_t)argc);
  } else if (s->op == OP_RUN) {
    if (s->nstr < 1)
      return -EINVAL;
    s->argv = null_terminated(s->str, s->nstr);
    if (!s->argv)
      return -ENOMEM;
    return find_pid_args(s, s->argv, s->nstr);
  }
  return 0;
}

static int parse_step(const uint8_t *p, size_t left, struct step *s, size_t *used) {
  struct nsbox_step_header h;
  if (left < sizeof h)
    return -EINVAL;
  memcpy(&h, p, sizeof h);
  if (h.size < sizeof h || h.size > left || h.size % 8)
    return -EINVAL;
  s->op = h.op;
  memcpy(s->arg, h.arg, sizeof s->arg);
  s->nstr = h.nstr;
  s->str = calloc(h.nstr + 1, sizeof(char *));
  if (!s->str)
    return -ENOMEM;
  const char *q = (const char *)p + sizeof h, *end = (const char *)p + h.size;
  for (uint32_t i = 0; i < h.nstr; i++) {
    const char *nul = memchr(q, 0, (size_t)(end - q));
    if (!nul)
      return -EINVAL;
    s->str[i] = (char *)q; /* points into the caller's buffer, alive for the call */
    q = nul + 1;
  }
  *used = h.size;
  if (s->op == OP_SECCOMP) { /* raw instructions, 8 bytes each, right after the header */
    if (h.nstr || s->arg[0] < 1 || s->arg[0] > 4096 || (size_t)s->arg[0] * 8 > h.size - sizeof h)
      return -EINVAL;
    s->data = p + sizeof h;
  }
  return finish_step(s);
}

int nsbox_parse_plan(const uint8_t *buf, size_t len, struct ctx *c) {
  struct nsbox_plan_header h;
  if (len < sizeof h)
    return -EINVAL;
  memcpy(&h, buf, sizeof h);
  if (h.magic != NSBOX_PLAN_MAGIC || h.version != NSBOX_PLAN_VERSION)
    return -EPROTO;
  c->clone_flags = h.clone_flags;
  c->plan_flags = h.flags;
  size_t off = sizeof h;
  for (int sec = SECTION_MIDDLE; sec <= SECTION_CHILD; sec++) {
    c->count[sec] = h.counts[sec - 1];
    c->steps[sec] = calloc(c->count[sec] + 1, sizeof(struct step));
    if (!c->steps[sec])
      return -ENOMEM;
    for (uint32_t i = 0; i < c->count[sec]; i++) {
      size_t used = 0;
      int rc = parse_step(buf + off, len - off, &c->steps[sec][i], &used);
      if (rc < 0)
        return rc;
      off += used;
    }
  }
  return off == len ? 0 : -EINVAL;
}

void nsbox_free_plan(struct ctx *c) {
  for (int sec = SECTION_MIDDLE; sec <= SECTION_CHILD; sec++) {
    if (!c->steps[sec])
      continue;
    for (uint32_t i = 0; i < c->count[sec]; i++) {
      struct step *s = &c->steps[sec][i];
      free(s->str);
      free(s->argv);
      free(s->envp);
      free(s->pid_args);
      free(s->keep);
    }
    free(c->steps[sec]);
    c->steps[sec] = NULL;
  }
}

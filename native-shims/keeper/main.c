/*
 * nsbox-keeper: the per-pod parent of a detached pod (the role conmon plays
 * for podman), about 1 MiB instead of a Node process.
 *
 * The shim's middle process execs it right after starting the pause, so it
 * is the pause's parent. It is mechanism only: TypeScript computes every
 * plan, the restart rule and the stop signal, and sends them as data; the
 * keeper runs the plans (the shim's executor, linked in), reaps, copies the
 * containers' output into their logs, writes each container's state.json,
 * restarts by the rule it was given, and keeps the port server (the builtin
 * forwarder or pasta) running. It exits when the pause does.
 *
 *   nsbox-keeper POD_DIR NLISTENERS PAUSE_PID
 *
 * fd 3: a socket to the creator, which sends `init` and waits for `ready`;
 * fds 4 .. 4+N-1: the published ports' host listeners. Plans refer to the
 * keeper's fds by fixed slots from SLOT_BASE = 4+N on (see keeper/slots.ts).
 * Ports published later (`publish`) are bound here, each batch served by a
 * forwarder of its own.
 *
 * Requests come on POD_DIR's socket (and `init` on fd 3), each a frame: a
 * u32 length (little-endian), then a text line, then binary data (a plan).
 * Every answer is one frame holding one text line.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include "../shim/plan.h"
#include "keeper.h"

int nsbox_spawn(const uint8_t *plan, uint32_t len, uint8_t *result_out);
int nsbox_recv_fd(int sock);

#define PROTOCOL "v1" /* the request format; keeper/protocol.ts says the same */
#define CONTROL_FD 3
#define MAX_FRAME (8 << 20)
#define MAX_CONTAINERS 1024
#define MAX_CONNS 256
#define DRAIN_MS 200
#define MAX_BACKOFF_MS 10000
#define PORT_FIRST_DELAY_MS 50
#define PORT_MAX_DELAY_MS 5000
#define PORT_STABLE_MS 60000
#define PASTA_READY_MS 10000
#define EXIT_GRACE_MS 5000

/* SLOT_IN: the read end of a container's stdin pipe, or the socket its terminal's master comes back on */
/* SLOT_LISTEN..: the host listeners of ports published on the running pod, while their forwarder's plan runs */
#define MAX_PUBLISH 16 /* ports one `publish` brings */
enum { SLOT_PAUSE = 0, SLOT_OUT = 1, SLOT_ERR = 2, SLOT_NS = 3, SLOT_IN = 4, SLOT_LISTEN = 5, NSLOTS = 5 + MAX_PUBLISH };
/* What a container reads: /dev/null, a pipe whose write end we keep, or a terminal whose master we keep. */
enum stdio_mode { STDIO_NULL = 0, STDIO_PIPE = 1, STDIO_TTY = 2 };
#define ATTACH_SEND_MS 1000 /* an attacher that takes no output this long is dropped (it can read the log) */
#define LINGER_MS 5000      /* how long an attacher told the exit code has to close its end */
enum cstate { CREATED, RUNNING, STOPPING, RESTARTING, EXITED };
static const char *state_names[] = {"created", "running", "stopping", "restarting", "exited"};
enum policy { POLICY_NO = 0, POLICY_ALWAYS = 1, POLICY_ON_FAILURE = 2 };
enum tagkind { TAG_SIGNAL, TAG_LISTEN, TAG_CONN, TAG_PIPE, TAG_CONTROL };

struct tag {
  enum tagkind kind;
};

struct container;

struct pipe_end {
  struct tag tag;
  struct container *c;
  int stream;
  int fd;
};

struct container {
  char name[64];
  char dir[PATH_MAX];
  uint8_t *plan;
  uint32_t plan_len;
  int policy, max_retries, stop_signal;
  long long log_max;
  enum cstate state;
  int stop_requested;
  int restart_count;
  pid_t pid;
  char start_time[32];
  int pidfd, nsfd;
  int reaped, exit_code;
  struct pipe_end out, err; /* with a terminal, out is its master and err is unused */
  int stdio_mode;
  int in_fd; /* the stdin pipe's write end, or the terminal's master (a dup), -1 when closed */
  unsigned short rows, cols; /* the terminal's size an attacher asked for last (also before it started) */
  struct log_writer log;
  int log_open;
  long long restart_at, kill_at, drain_until;
  char started_at[32], finished_at[32];
  int has_exit;
  char error[512];
  char **exit_argv; /* --rm: a command to run once it has exited for good (nsbox rm) */
  uint8_t *exit_buf;
  /* health checks: a command run every tick_every ms while it runs (nsbox healthcheck run), one at a time */
  char **tick_argv;
  uint8_t *tick_buf;
  long long tick_every, tick_at;
  pid_t tick_pid;
};

enum waitkind { WAIT_SETTLED, WAIT_POD_GONE };

struct conn {
  struct tag tag;
  int fd;
  uint8_t *buf;
  size_t len, cap;
  int waiting; /* 0, or 1 + enum waitkind */
  struct container *for_c;
  struct container *attached; /* streaming mode: output goes to it, stdin comes from it */
  int attach_flags;           /* 1 stdin, 2 stdout, 4 stderr */
  long long linger_until;     /* told the exit code: its input is read and dropped until it closes, or until then */
};

static char pod_dir[PATH_MAX - 64];
static int slot_base;
static pid_t pause_pid;
static int pause_reaped;
static int epfd;
static struct tag signal_tag = {TAG_SIGNAL}, listen_tag = {TAG_LISTEN}, control_tag = {TAG_CONTROL};
static int sigfd, listen_fd = -1;
static char socket_path[PATH_MAX];
static struct container *containers[MAX_CONTAINERS];
static int ncontainers;
static struct conn *conns[MAX_CONNS];
static long long exit_deadline;
static int pod_stopping;
static long long pod_kill_at;

/* A port server: the builtin forwarder or pasta, kept running. */
struct port_server {
  int kind; /* 0 none, 1 forward, 2 pasta */
  uint8_t *plan;
  uint32_t plan_len;
  pid_t pid;
  int ready;
  int closed;
  int crashes;
  long long started, ready_by, restart_at;
  int listeners[MAX_PUBLISH]; /* ports published on the running pod: ours, put in SLOT_LISTEN.. at each launch */
  int nlisteners;
};
/* servers[0] is the one `init` names; each `publish` adds a forwarder of its own. */
#define MAX_PORT_SERVERS 33
static struct port_server servers[MAX_PORT_SERVERS];
static int nservers = 1;

/* ---- small helpers ---------------------------------------------------- */

static void write_file_atomic(const char *path, const char *text) {
  char tmp[PATH_MAX + 8];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  size_t len = strlen(text), done = 0;
  while (done < len) {
    ssize_t n = write(fd, text + done, len - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    done += (size_t)n;
  }
  close(fd);
  if (done == len)
    rename(tmp, path);
  else
    unlink(tmp);
}

/* A failure of the keeper itself: said in the pod's directory (pod ls shows it), then the pod goes. */
static void fatal(const char *what, int err) {
  char msg[600], esc[4000], path[PATH_MAX];
  snprintf(msg, sizeof msg, "the pod's keeper failed: %s (%s)", what, strerrorname_np(err) ?: "error");
  json_escape(esc, (const unsigned char *)msg, strlen(msg));
  char json[4200];
  snprintf(json, sizeof json, "{\"code\":\"KEEPER_FAILED\",\"message\":\"%s\"}\n", esc);
  snprintf(path, sizeof path, "%s/supervisor-error.json", pod_dir);
  write_file_atomic(path, json);
  kill(pause_pid, SIGKILL);
  _exit(1);
}

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n, size);
  if (!p)
    fatal("out of memory", ENOMEM);
  return p;
}

static void watch(int fd, uint32_t events, void *tag) {
  struct epoll_event ev = {.events = events, .data.ptr = tag};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
    fatal("epoll_ctl", errno);
}

static void read_start_time(pid_t pid, char out[32]) {
  char path[64], buf[1024];
  out[0] = 0;
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p)
    return;
  p += 2; /* field 3 (state) */
  for (int field = 3; field < 22 && p; field++) {
    p = strchr(p, ' ');
    if (p)
      p++;
  }
  if (!p)
    return;
  size_t len = strcspn(p, " ");
  if (len >= 32)
    len = 31;
  memcpy(out, p, len);
  out[len] = 0;
}

/* Puts fd on slot `slot` (or /dev/null there when fd < 0): plans name the slots, not our fds. */
static void fill_slot(int slot, int fd) {
  int target = slot_base + slot;
  if (fd < 0) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0)
      fatal("open /dev/null", errno);
    if (null == target)
      return; /* it was free: the open took it */
    if (dup3(null, target, O_CLOEXEC) < 0)
      fatal("dup3", errno);
    close(null);
    return;
  }
  if (dup3(fd, target, O_CLOEXEC) < 0)
    fatal("dup3", errno);
}

/* ---- frames ----------------------------------------------------------- */

static void send_frame(int fd, const char *line) {
  uint32_t len = (uint32_t)strlen(line);
  char buf[4 + 1024];
  if (len > 1024)
    len = 1024;
  memcpy(buf, &len, 4);
  memcpy(buf + 4, line, len);
  size_t done = 0;
  while (done < 4 + len) {
    ssize_t n = send(fd, buf + done, 4 + len - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return; /* the client went away */
    done += (size_t)n;
  }
}

/* ---- container state -------------------------------------------------- */

static void save(struct container *c) {
  char json[2048], esc[3200], path[PATH_MAX + 16];
  char pid[96] = "null", code[16] = "null", started[48] = "null", finished[48] = "null", error[3300] = "null";
  if (c->pid > 0 && !c->reaped)
    snprintf(pid, sizeof pid, "{\"pid\":%d,\"startTime\":\"%s\"}", c->pid, c->start_time);
  if (c->has_exit)
    snprintf(code, sizeof code, "%d", c->exit_code);
  if (c->started_at[0])
    snprintf(started, sizeof started, "\"%s\"", c->started_at);
  if (c->finished_at[0])
    snprintf(finished, sizeof finished, "\"%s\"", c->finished_at);
  if (c->error[0]) {
    json_escape(esc, (const unsigned char *)c->error, strlen(c->error));
    snprintf(error, sizeof error, "\"%s\"", esc);
  }
  snprintf(json, sizeof json,
           "{\"schema\":1,\"state\":\"%s\",\"process\":%s,\"startedAt\":%s,\"finishedAt\":%s,\"exitCode\":%s,\"restartCount\":%d,"
           "\"error\":%s}\n",
           state_names[c->state], pid, started, finished, code, c->restart_count, error);
  snprintf(path, sizeof path, "%s/state.json", c->dir);
  write_file_atomic(path, json);
}

static int settled(const struct container *c) { return c->state == EXITED || c->state == CREATED; }

static void answer_waiters(struct container *c) {
  for (int i = 0; i < MAX_CONNS; i++) {
    struct conn *k = conns[i];
    if (k && k->waiting == 1 + WAIT_SETTLED && k->for_c == c) {
      char line[64];
      snprintf(line, sizeof line, "ok %d", c->has_exit ? c->exit_code : 0);
      send_frame(k->fd, line);
      k->waiting = 0;
      k->for_c = NULL;
    }
  }
}

/* A command TypeScript gave, run detached (its own session, no fds but 0-2, a bare environment). */
static pid_t spawn_command(char **argv) {
  pid_t pid = fork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGXFSZ, SIG_DFL);
    setsid();
    syscall(SYS_close_range, 3, ~0U, 0);
    char *envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", NULL};
    execve(argv[0], argv, envp);
    _exit(127);
  }
  return pid;
}

/* data: argv, each NUL-terminated; 0 when it is not that. */
static int parse_argv(const uint8_t *data, size_t data_len, char ***argv, uint8_t **buf) {
  if (data_len == 0 || data[data_len - 1] != 0)
    return 0;
  int argc = 0;
  for (size_t i = 0; i < data_len; i++)
    argc += data[i] == 0;
  free(*argv);
  free(*buf);
  *buf = xcalloc(1, data_len);
  memcpy(*buf, data, data_len);
  *argv = xcalloc((size_t)argc + 1, sizeof(char *));
  for (size_t i = 0, a = 0; i < data_len; a++) {
    (*argv)[a] = (char *)*buf + i;
    i += strlen((char *)*buf + i) + 1;
  }
  return 1;
}

/* --rm: the command TypeScript gave runs once, detached, when the container is done (as conmon's exit command). */
static void run_exit_command(struct container *c) {
  if (!c->exit_argv || pause_reaped || pod_stopping)
    return;
  spawn_command(c->exit_argv);
  free(c->exit_argv);
  free(c->exit_buf);
  c->exit_argv = NULL;
  c->exit_buf = NULL;
}

static void finish(struct container *c, int code, const char *error) {
  c->state = EXITED;
  c->exit_code = code;
  c->has_exit = 1;
  snprintf(c->error, sizeof c->error, "%s", error ? error : "");
  iso_now(c->finished_at);
  c->pid = 0;
  save(c);
  answer_waiters(c);
  run_exit_command(c);
}

static struct container *find(const char *name) {
  for (int i = 0; i < ncontainers; i++)
    if (strcmp(containers[i]->name, name) == 0)
      return containers[i];
  return NULL;
}

/* Every process left in the container's mount namespace is killed: orphans adopted by the
 * pause and exec'd processes end with the container, as runc kills its cgroup. */
static void kill_namespace(int nsfd) {
  struct stat ns;
  if (fstat(nsfd, &ns) < 0)
    return;
  for (int round = 0; round < 100; round++) {
    int found = 0;
    DIR *d = opendir("/proc");
    if (!d)
      return;
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9')
        continue;
      char path[300];
      struct stat st;
      snprintf(path, sizeof path, "/proc/%s/ns/mnt", e->d_name);
      if (stat(path, &st) < 0 || st.st_ino != ns.st_ino || st.st_dev != ns.st_dev)
        continue;
      int pfd = (int)syscall(SYS_pidfd_open, atoi(e->d_name), 0);
      if (pfd < 0)
        continue;
      /* the pid may have been recycled between the stat and the open */
      if (stat(path, &st) == 0 && st.st_ino == ns.st_ino && st.st_dev == ns.st_dev) {
        syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
        found++;
      }
      close(pfd);
    }
    closedir(d);
    if (!found)
      return;
    usleep(round < 5 ? 1000 : 10000);
  }
}

/* ---- spawning --------------------------------------------------------- */

struct spawn_outcome {
  pid_t pid;
  struct nsbox_result result;
};

static struct spawn_outcome run_plan(const uint8_t *plan, uint32_t len) {
  struct spawn_outcome o;
  memset(&o, 0, sizeof o);
  nsbox_spawn(plan, len, (uint8_t *)&o.result);
  if (o.result.section < 0)
    o.pid = o.result.pid;
  else if (o.result.pid > 0) /* it died or was killed after the clone */
    while (waitpid(o.result.pid, NULL, __WALL) < 0 && errno == EINTR) {
    }
  return o;
}

static void close_pipe(struct pipe_end *p) {
  if (p->fd < 0)
    return;
  epoll_ctl(epfd, EPOLL_CTL_DEL, p->fd, NULL);
  close(p->fd);
  p->fd = -1;
  if (p->c->log_open)
    log_end_stream(&p->c->log, p->stream);
}

/* Starts the container's stored plan; 0, or fills `failure` ("spawnerr SECTION STEP ERRNO"). */
static int start(struct container *c, char *failure, size_t cap) {
  int out[2], errp[2], ns[2], in[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) < 0)
    goto nofds;
  if (pipe2(errp, O_CLOEXEC) < 0) {
    close(out[0]), close(out[1]);
    goto nofds;
  }
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ns) < 0) {
    close(out[0]), close(out[1]), close(errp[0]), close(errp[1]);
    goto nofds;
  }
  /* in[0] goes to the container (a pipe's read end, or the socket its terminal's master is sent on) */
  if ((c->stdio_mode == STDIO_PIPE && pipe2(in, O_CLOEXEC) < 0) ||
      (c->stdio_mode == STDIO_TTY && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0)) {
    close(out[0]), close(out[1]), close(errp[0]), close(errp[1]), close(ns[0]), close(ns[1]);
    goto nofds;
  }
  fill_slot(SLOT_OUT, out[1]);
  fill_slot(SLOT_ERR, errp[1]);
  fill_slot(SLOT_NS, ns[1]);
  fill_slot(SLOT_IN, in[0]);
  close(out[1]), close(errp[1]), close(ns[1]);
  if (in[0] >= 0)
    close(in[0]);
  struct spawn_outcome o = run_plan(c->plan, c->plan_len);
  fill_slot(SLOT_OUT, -1), fill_slot(SLOT_ERR, -1), fill_slot(SLOT_NS, -1), fill_slot(SLOT_IN, -1);
  if (o.pid <= 0) {
    close(out[0]), close(errp[0]), close(ns[0]);
    if (in[1] >= 0)
      close(in[1]);
    snprintf(failure, cap, "spawnerr %d %d %d", o.result.section, o.result.step, o.result.err);
    return -1;
  }
  if (c->stdio_mode == STDIO_TTY) {
    /* sent before its exec: the master is its one output stream and where its input goes */
    int master = nsbox_recv_fd(in[1]);
    close(in[1]);
    close(out[0]), close(errp[0]);
    out[0] = master >= 0 ? master : open("/dev/null", O_RDONLY | O_CLOEXEC);
    errp[0] = -1;
    c->in_fd = master >= 0 ? fcntl(master, F_DUPFD_CLOEXEC, 0) : -1;
    /* the size an attacher gave before the start (docker: create, attach, resize, start) */
    struct winsize ws = {.ws_row = c->rows, .ws_col = c->cols};
    if (c->in_fd >= 0 && c->rows > 0)
      ioctl(c->in_fd, TIOCSWINSZ, &ws);
  } else {
    c->in_fd = in[1];
  }
  if (c->in_fd >= 0)
    fcntl(c->in_fd, F_SETFL, O_NONBLOCK);
  /* sent by the process before its first setup step: there even if it already exited */
  int nsfd = nsbox_recv_fd(ns[0]);
  close(ns[0]);
  c->nsfd = nsfd;
  c->pid = o.pid;
  c->reaped = 0;
  c->pidfd = (int)syscall(SYS_pidfd_open, o.pid, 0);
  read_start_time(o.pid, c->start_time);
  char log_path[PATH_MAX + 16];
  snprintf(log_path, sizeof log_path, "%s/log.jsonl", c->dir);
  log_open(&c->log, log_path, c->log_max);
  c->log_open = 1;
  c->out = (struct pipe_end){{TAG_PIPE}, c, 0, out[0]};
  c->err = (struct pipe_end){{TAG_PIPE}, c, 1, errp[0]};
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  watch(out[0], EPOLLIN, &c->out);
  if (errp[0] >= 0) {
    fcntl(errp[0], F_SETFL, O_NONBLOCK);
    watch(errp[0], EPOLLIN, &c->err);
  }
  c->state = c->stop_requested ? STOPPING : RUNNING;
  iso_now(c->started_at);
  c->finished_at[0] = 0;
  c->has_exit = 0;
  c->error[0] = 0;
  c->drain_until = 0;
  c->tick_at = c->tick_every ? now_ms() + c->tick_every : 0;
  save(c);
  return 0;
nofds:
  snprintf(failure, cap, "err cannot create pipes for the container (%s): too many open files? raise `ulimit -n`",
           strerrorname_np(errno) ?: "error");
  return -1;
}

/* A spawn that failed on its own (a restart): the exit code a shell would give. */
static void restart_failed(struct container *c, const char *failure) {
  int section = 0, step = 0, err = 0;
  sscanf(failure, "spawnerr %d %d %d", &section, &step, &err);
  char msg[256];
  snprintf(msg, sizeof msg, "the container could not be started again: step %d of section %d failed (%s)", step,
           section, strerrorname_np(err) ?: "error");
  if (c->log_open == 0) {
    char log_path[PATH_MAX + 16];
    snprintf(log_path, sizeof log_path, "%s/log.jsonl", c->dir);
    log_open(&c->log, log_path, c->log_max);
  }
  char line[300];
  snprintf(line, sizeof line, "nsbox: %s\n", msg);
  log_note(&c->log, line);
  log_close(&c->log);
  c->log_open = 0;
  finish(c, section == SECTION_CHILD ? 127 : 125, msg);
}

static void after_exit(struct container *c) {
  int code = c->exit_code;
  int again = !c->stop_requested && !pause_reaped &&
              (c->policy == POLICY_ALWAYS ||
               (c->policy == POLICY_ON_FAILURE && code != 0 && (c->max_retries < 0 || c->restart_count < c->max_retries)));
  if (!again) {
    finish(c, code, NULL);
    return;
  }
  iso_now(c->finished_at);
  c->has_exit = 1;
  c->restart_count++;
  c->pid = 0;
  c->state = RESTARTING;
  save(c);
  int n = c->restart_count - 1 < 10 ? c->restart_count - 1 : 10;
  long long delay = 100LL << n;
  c->restart_at = now_ms() + (delay < MAX_BACKOFF_MS ? delay : MAX_BACKOFF_MS);
}

/* ---- attachers --------------------------------------------------------- */

static void drop_conn(struct conn *k);

/* Sends all of buf on an attacher's (non-blocking) socket, waiting for room at most ATTACH_SEND_MS. */
static int send_all(int fd, const uint8_t *buf, size_t len) {
  long long deadline = now_ms() + ATTACH_SEND_MS;
  while (len > 0) {
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      buf += n, len -= (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    long long left = deadline - now_ms();
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) || left <= 0)
      return -1;
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    poll(&p, 1, (int)left);
  }
  return 0;
}

/* One frame to an attacher: u32 length (LE), a kind byte (1 stdout, 2 stderr, 'x' exited), the data. */
static int attach_frame(struct conn *k, int kind, const void *data, size_t n) {
  uint8_t head[5];
  uint32_t len = (uint32_t)(n + 1);
  memcpy(head, &len, 4);
  head[4] = (uint8_t)kind;
  return send_all(k->fd, head, 5) < 0 || send_all(k->fd, data, n) < 0 ? -1 : 0;
}

static void attach_output(struct container *c, int stream, const uint8_t *data, size_t n) {
  for (int i = 0; i < MAX_CONNS; i++) {
    struct conn *k = conns[i];
    if (k && k->attached == c && (k->attach_flags & (stream ? 4 : 2)) && attach_frame(k, stream + 1, data, n) < 0)
      drop_conn(k);
  }
}

/* The container's process is done (or gone): every attacher is told its exit code, and let go.
 * Our side is shut, not closed: closing with the attacher's late input unread would reset the
 * connection, and a reset (or the EPIPE of a write after our close) makes the attacher discard
 * the output and exit frame it has not read yet. The attacher closes once it has read them. */
static void end_attachers(struct container *c, int code) {
  char text[16];
  snprintf(text, sizeof text, "%d", code);
  for (int i = 0; i < MAX_CONNS; i++) {
    struct conn *k = conns[i];
    if (k && k->attached == c) {
      if (attach_frame(k, 'x', text, strlen(text)) < 0 || shutdown(k->fd, SHUT_WR) < 0) {
        drop_conn(k);
        continue;
      }
      k->attached = NULL;
      k->len = 0;
      k->linger_until = now_ms() + LINGER_MS;
    }
  }
}

static void close_stdin(struct container *c) {
  if (c->in_fd >= 0)
    close(c->in_fd);
  c->in_fd = -1;
}

/* Writes an attacher's input to the container, waiting for room at most ATTACH_SEND_MS (then the rest is dropped). */
static void write_stdin(struct container *c, const uint8_t *data, size_t n) {
  long long deadline = now_ms() + ATTACH_SEND_MS;
  while (n > 0 && c->in_fd >= 0) {
    ssize_t w = write(c->in_fd, data, n);
    if (w > 0) {
      data += w, n -= (size_t)w;
      continue;
    }
    if (w < 0 && errno == EINTR)
      continue;
    long long left = deadline - now_ms();
    if (w < 0 && errno == EAGAIN && left > 0) {
      struct pollfd p = {.fd = c->in_fd, .events = POLLOUT};
      poll(&p, 1, (int)left);
      continue;
    }
    if (w < 0 && errno == EPIPE)
      close_stdin(c); /* it closed its stdin */
    return;
  }
}

static void resize_terminal(struct container *c, int rows, int cols) {
  if (rows <= 0 || cols <= 0 || rows > 65535 || cols > 65535)
    return;
  c->rows = (unsigned short)rows, c->cols = (unsigned short)cols;
  struct winsize ws = {.ws_row = c->rows, .ws_col = c->cols};
  if (c->stdio_mode == STDIO_TTY && c->in_fd >= 0)
    ioctl(c->in_fd, TIOCSWINSZ, &ws);
}

/* An attacher's frames: u32 length (LE), a kind byte, data: 'd' input, 'e' end of input, 'w' u16 rows, u16 cols. */
static void attacher_frames(struct conn *k) {
  size_t off = 0;
  while (k->len - off >= 4) {
    uint32_t flen;
    memcpy(&flen, k->buf + off, 4);
    if (k->len - off - 4 < flen)
      break;
    const uint8_t *p = k->buf + off + 4;
    struct container *c = k->attached;
    if (flen >= 1) {
      if (p[0] == 'd' && (k->attach_flags & 1))
        write_stdin(c, p + 1, flen - 1);
      else if (p[0] == 'e' && (k->attach_flags & 1) && c->stdio_mode == STDIO_PIPE)
        close_stdin(c);
      else if (p[0] == 'w' && flen >= 5) {
        uint16_t rc[2];
        memcpy(rc, p + 1, 4);
        resize_terminal(c, rc[0], rc[1]);
      }
    }
    off += 4 + flen;
  }
  memmove(k->buf, k->buf + off, k->len - off);
  k->len -= off;
}

/* Output is drained (or the drain time is up: a daemonized grandchild may hold the pipes). */
static void finalize_exit(struct container *c) {
  close_pipe(&c->out);
  close_pipe(&c->err);
  close_stdin(c);
  end_attachers(c, c->exit_code);
  if (c->log_open)
    log_close(&c->log);
  c->log_open = 0;
  if (c->pidfd >= 0)
    close(c->pidfd);
  c->pidfd = -1;
  c->drain_until = 0;
  c->kill_at = 0;
  after_exit(c);
}

static void container_reaped(struct container *c, int status) {
  c->reaped = 1;
  c->exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
  if (c->nsfd >= 0) {
    kill_namespace(c->nsfd);
    close(c->nsfd);
    c->nsfd = -1;
  }
  if (c->out.fd < 0 && c->err.fd < 0)
    finalize_exit(c);
  else
    c->drain_until = now_ms() + DRAIN_MS;
}

static void read_pipe(struct pipe_end *p) {
  static unsigned char buf[65536];
  for (;;) {
    ssize_t n = read(p->fd, buf, sizeof buf);
    if (n > 0) {
      if (p->c->log_open)
        log_output(&p->c->log, p->stream, buf, (size_t)n);
      attach_output(p->c, p->stream, buf, (size_t)n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      return;
    close_pipe(p);
    struct container *c = p->c;
    if (c->reaped && c->out.fd < 0 && c->err.fd < 0)
      finalize_exit(c);
    return;
  }
}

/* ---- stopping --------------------------------------------------------- */

static void signal_container(struct container *c, int sig) {
  if (c->pidfd >= 0 && !c->reaped)
    syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0);
}

/* Its stop signal, then SIGKILL after the grace period; no restart afterwards. 1 if it has settled now. */
static int stop_container(struct container *c, long long timeout_ms) {
  if (settled(c))
    return 1;
  c->stop_requested = 1;
  if (c->state == RESTARTING) {
    c->restart_at = 0;
    finish(c, c->has_exit ? c->exit_code : 0, NULL);
    return 1;
  }
  c->state = STOPPING;
  save(c);
  signal_container(c, timeout_ms > 0 ? c->stop_signal : SIGKILL);
  long long at = now_ms() + timeout_ms;
  if (!c->kill_at || at < c->kill_at)
    c->kill_at = at;
  return 0;
}

static int all_settled(void) {
  for (int i = 0; i < ncontainers; i++)
    if (!settled(containers[i]))
      return 0;
  return 1;
}

static long long pod_timeout_ms;

/* Stops every container (in parallel), then the pause, which takes the rest of the pod with it. */
static void stop_pod(long long timeout_ms) {
  if (pod_stopping)
    return;
  pod_stopping = 1;
  pod_timeout_ms = timeout_ms;
  for (int i = 0; i < ncontainers; i++)
    stop_container(containers[i], timeout_ms);
}

static void stop_pause_when_settled(void) {
  if (pod_stopping != 1 || !all_settled())
    return;
  pod_stopping = 2;
  kill(pause_pid, pod_timeout_ms > 0 ? SIGTERM : SIGKILL);
  pod_kill_at = now_ms() + pod_timeout_ms;
}

/* ---- the port server -------------------------------------------------- */

static int pasta_ready(const struct port_server *p) {
  char path[PATH_MAX], buf[32];
  snprintf(path, sizeof path, "%s/pasta.pid", pod_dir);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return 0;
  buf[n] = 0;
  return atoi(buf) == p->pid;
}

/* Starts a port server; 0, or -1 with the failure in `failure`. */
static int port_launch(struct port_server *p, char *failure, size_t cap) {
  if (p->kind == 2) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/pasta.pid", pod_dir);
    unlink(path); /* a pasta started again must not pass for ready by its predecessor's file */
    snprintf(path, sizeof path, "%s/pasta.log", pod_dir);
    int log = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log < 0) {
      snprintf(failure, cap, "err cannot open pasta.log (%s)", strerrorname_np(errno) ?: "error");
      return -1;
    }
    fill_slot(SLOT_OUT, log);
    close(log);
  }
  for (int i = 0; i < p->nlisteners; i++)
    fill_slot(SLOT_LISTEN + i, p->listeners[i]);
  struct spawn_outcome o = run_plan(p->plan, p->plan_len);
  fill_slot(SLOT_OUT, -1);
  for (int i = 0; i < p->nlisteners; i++)
    fill_slot(SLOT_LISTEN + i, -1);
  if (o.pid <= 0) {
    snprintf(failure, cap, "spawnerr %d %d %d", o.result.section, o.result.step, o.result.err);
    return -1;
  }
  p->pid = o.pid;
  p->started = now_ms();
  p->ready = p->kind != 2;
  p->ready_by = p->ready ? 0 : now_ms() + PASTA_READY_MS;
  return 0;
}

static int control_fd = CONTROL_FD;

static void port_ready(void) {
  if (control_fd >= 0) {
    send_frame(control_fd, "ready");
    epoll_ctl(epfd, EPOLL_CTL_DEL, control_fd, NULL);
    close(control_fd);
    control_fd = -1;
  }
}

/* A port server cannot be brought (back) up: the reason stays for `pod inspect`, the pod goes. */
static void port_give_up(struct port_server *p, const char *why) {
  p->closed = 1;
  if (control_fd >= 0) {
    send_frame(control_fd, why);
  } else {
    char path[PATH_MAX], json[600], esc[3000];
    const char *what = p->kind == 2 ? "pasta" : "the port forwarder";
    char msg[400];
    snprintf(msg, sizeof msg, "%s died and could not be started again (%s)", what, why);
    json_escape(esc, (const unsigned char *)msg, strlen(msg));
    snprintf(json, sizeof json, "{\"code\":\"NETWORK_FAILED\",\"server\":\"%s\",\"message\":\"%.500s\"}\n",
             p->kind == 2 ? "pasta" : "forwarder", esc);
    snprintf(path, sizeof path, "%s/network-error.json", pod_dir);
    write_file_atomic(path, json);
  }
  kill(pause_pid, SIGKILL);
}

static void port_reaped(struct port_server *p) {
  p->pid = 0;
  if (p->closed || pause_reaped)
    return;
  if (!p->ready) {
    port_give_up(p, "err pasta");
    return;
  }
  if (now_ms() - p->started > PORT_STABLE_MS)
    p->crashes = 0;
  int n = p->crashes < 7 ? p->crashes : 7;
  long long delay = (long long)PORT_FIRST_DELAY_MS << n;
  p->crashes++;
  p->restart_at = now_ms() + (delay < PORT_MAX_DELAY_MS ? delay : PORT_MAX_DELAY_MS);
}

/* ---- requests --------------------------------------------------------- */

static int valid_name(const char *s) {
  if (!*s || strlen(s) > 63)
    return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' ||
          *s == '-'))
      return 0;
  return 1;
}

static void set_plan(uint8_t **plan, uint32_t *plan_len, const uint8_t *data, size_t len) {
  free(*plan);
  *plan = malloc(len ? len : 1);
  if (!*plan)
    fatal("out of memory", ENOMEM);
  memcpy(*plan, data, len);
  *plan_len = (uint32_t)len;
}

/* A host listener for SPEC (tcp/IP/PORT or udp/IP/PORT, IPv4) made as the creator makes its own: port 0 gets a
 * free one. Its fd (non-blocking, close-on-exec) with the port it got in *bound, or -errno. */
static int open_listener(const char *spec, int *bound) {
  char proto[4] = "", ip[16] = "";
  int portno = -1;
  if (sscanf(spec, "%3[a-z]/%15[0-9.]/%d", proto, ip, &portno) != 3 || portno < 0 || portno > 65535)
    return -EINVAL;
  int udp = strcmp(proto, "udp") == 0;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)portno)};
  if ((!udp && strcmp(proto, "tcp") != 0) || inet_pton(AF_INET, ip, &a.sin_addr) != 1)
    return -EINVAL;
  int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  int one = 1;
  socklen_t len = sizeof a;
  if ((!udp && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
      (!udp && listen(fd, 511) < 0) || getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  *bound = ntohs(a.sin_port);
  return fd;
}

/*
 * publish N SPEC...: ports added to the running pod, each bound here and served by a forwarder of their own, whose
 * plan (the data) finds them in SLOT_LISTEN... Answers `ok PORT...` (the ports bound, in order), or why not, with
 * nothing kept.
 */
static void publish(struct conn *k, const char *line, const uint8_t *data, size_t data_len) {
  int n = 0, skip = 0;
  if (sscanf(line, "%*s %d %n", &n, &skip) < 1 || n < 1 || n > MAX_PUBLISH || !data_len) {
    send_frame(k->fd, "err malformed publish");
    return;
  }
  if (pause_reaped || pod_stopping) {
    send_frame(k->fd, "err the pod is stopping");
    return;
  }
  if (nservers >= MAX_PORT_SERVERS) {
    send_frame(k->fd, "err too many publishes on this pod");
    return;
  }
  struct port_server *p = &servers[nservers];
  memset(p, 0, sizeof *p);
  char answer[8 + MAX_PUBLISH * 7] = "ok", failure[600] = "";
  const char *at = line + skip;
  for (int i = 0; i < n && !failure[0]; i++) {
    char spec[64] = "";
    int used = 0, bound = 0;
    if (sscanf(at, "%63s %n", spec, &used) < 1) {
      snprintf(failure, sizeof failure, "err malformed publish");
      break;
    }
    at += used;
    int fd = open_listener(spec, &bound);
    if (fd < 0) {
      snprintf(failure, sizeof failure, "err bind %s %s", spec, strerrorname_np(-fd) ?: "error");
      break;
    }
    p->listeners[p->nlisteners++] = fd;
    snprintf(answer + strlen(answer), sizeof answer - strlen(answer), " %d", bound);
  }
  if (!failure[0]) {
    p->kind = 1;
    set_plan(&p->plan, &p->plan_len, data, data_len);
    port_launch(p, failure, sizeof failure);
  }
  if (failure[0]) {
    for (int i = 0; i < p->nlisteners; i++)
      close(p->listeners[i]);
    free(p->plan);
    memset(p, 0, sizeof *p);
    send_frame(k->fd, failure);
    return;
  }
  nservers++;
  send_frame(k->fd, answer);
}

static void request_start(struct conn *k, struct container *c, const uint8_t *plan, size_t plan_len) {
  if (pause_reaped || pod_stopping) {
    send_frame(k->fd, "err the pod is stopping");
    return;
  }
  set_plan(&c->plan, &c->plan_len, plan, plan_len);
  c->stop_requested = 0;
  char failure[600];
  if (start(c, failure, sizeof failure) < 0) {
    send_frame(k->fd, failure);
    return;
  }
  char line[96];
  snprintf(line, sizeof line, "ok %d %s", c->pid, c->start_time);
  send_frame(k->fd, line);
}

/* Handles one request; returns 1 when the answer is deferred (the connection waits). */
static int handle(struct conn *k, char *line, const uint8_t *data, size_t data_len) {
  char verb[16] = "", name[64] = "";
  /* Every request names the protocol it speaks: a pod made by another version of nsbox says so. */
  if (strncmp(line, PROTOCOL " ", sizeof PROTOCOL) != 0) {
    send_frame(k->fd, "err protocol: this keeper speaks " PROTOCOL);
    return 0;
  }
  line += sizeof PROTOCOL;
  sscanf(line, "%15s %63s", verb, name);
  if (strcmp(verb, "ping") == 0) {
    send_frame(k->fd, "ok");
    return 0;
  }
  if (strcmp(verb, "podstop") == 0) {
    long long timeout = atoll(name);
    stop_pod(timeout);
    k->waiting = 1 + WAIT_POD_GONE;
    return 1;
  }
  if (strcmp(verb, "publish") == 0) {
    publish(k, line, data, data_len);
    return 0;
  }
  if (!valid_name(name)) {
    send_frame(k->fd, "err bad container name");
    return 0;
  }
  struct container *c = find(name);
  if (strcmp(verb, "run") == 0) {
    int policy = 0, max_retries = -1, stop_signal = SIGTERM;
    long long log_max = 0;
    if (c) {
      send_frame(k->fd, "err duplicate");
      return 0;
    }
    if (ncontainers >= MAX_CONTAINERS) {
      send_frame(k->fd, "err too many containers in this pod");
      return 0;
    }
    int stdio_mode = STDIO_NULL, create_only = 0;
    sscanf(line, "%*s %*s %d %d %d %lld %d %d", &policy, &max_retries, &stop_signal, &log_max, &stdio_mode, &create_only);
    c = xcalloc(1, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->dir, sizeof c->dir, "%s/containers/%s", pod_dir, name);
    c->policy = policy, c->max_retries = max_retries, c->stop_signal = stop_signal, c->log_max = log_max;
    c->pidfd = c->nsfd = c->in_fd = -1;
    c->out.fd = c->err.fd = -1;
    c->stdio_mode = stdio_mode == STDIO_PIPE || stdio_mode == STDIO_TTY ? stdio_mode : STDIO_NULL;
    c->state = CREATED;
    containers[ncontainers++] = c;
    if (create_only) {
      /* docker's create: attachers can come before its start */
      set_plan(&c->plan, &c->plan_len, data, data_len);
      save(c);
      send_frame(k->fd, "ok 0 -");
      return 0;
    }
    request_start(k, c, data, data_len);
    return 0;
  }
  if (!c) {
    send_frame(k->fd, "err no such container");
    return 0;
  }
  if (strcmp(verb, "start") == 0) {
    if (!settled(c)) {
      send_frame(k->fd, "err not settled");
      return 0;
    }
    request_start(k, c, data, data_len);
    return 0;
  }
  if (strcmp(verb, "failed") == 0 || strcmp(verb, "note") == 0) {
    int code = 125, skip = 0;
    const char *text = line;
    if (verb[0] == 'f')
      sscanf(line, "%*s %*s %d %n", &code, &skip);
    else
      sscanf(line, "%*s %*s %n", &skip);
    text = line + skip;
    char log_path[PATH_MAX + 16], note[1200];
    snprintf(log_path, sizeof log_path, "%s/log.jsonl", c->dir);
    struct log_writer w;
    log_open(&w, log_path, c->log_max);
    snprintf(note, sizeof note, "nsbox: %s\n", text);
    log_note(&w, note);
    log_close(&w);
    if (verb[0] == 'f')
      finish(c, code, text);
    send_frame(k->fd, "ok");
    return 0;
  }
  if (strcmp(verb, "attach") == 0) {
    /* attach NAME FLAGS: the connection becomes a stream of its output (and its input) until it exits */
    int flags = 0;
    sscanf(line, "%*s %*s %d", &flags);
    if (c->state == EXITED) {
      send_frame(k->fd, "err exited");
      return 0;
    }
    char ok[64];
    snprintf(ok, sizeof ok, "ok %d %lld", c->stdio_mode, c->log_open ? c->log.size : -1LL);
    send_frame(k->fd, ok);
    k->attached = c;
    k->attach_flags = flags;
    return 2;
  }
  if (strcmp(verb, "resize") == 0) {
    int rows = 0, cols = 0;
    sscanf(line, "%*s %*s %d %d", &rows, &cols);
    resize_terminal(c, rows, cols);
    send_frame(k->fd, "ok");
    return 0;
  }
  if (strcmp(verb, "onexit") == 0) {
    /* data: the command's argv, each NUL-terminated */
    if (!parse_argv(data, data_len, &c->exit_argv, &c->exit_buf)) {
      send_frame(k->fd, "err malformed exit command");
      return 0;
    }
    send_frame(k->fd, "ok");
    if (c->state == EXITED)
      run_exit_command(c); /* it was done before we were told */
    return 0;
  }
  if (strcmp(verb, "every") == 0) {
    /* every NAME MS + argv: run it every MS while the container runs (health checks) */
    long long every = 0;
    sscanf(line, "%*s %*s %lld", &every);
    if (every < 100 || !parse_argv(data, data_len, &c->tick_argv, &c->tick_buf)) {
      send_frame(k->fd, "err malformed periodic command");
      return 0;
    }
    c->tick_every = every;
    c->tick_at = c->state == RUNNING ? now_ms() + every : 0;
    send_frame(k->fd, "ok");
    return 0;
  }
  if (strcmp(verb, "stop") == 0) {
    long long timeout = 10000;
    sscanf(line, "%*s %*s %lld", &timeout);
    if (stop_container(c, timeout)) {
      send_frame(k->fd, "ok");
      return 0;
    }
    k->waiting = 1 + WAIT_SETTLED;
    k->for_c = c;
    return 1;
  }
  if (strcmp(verb, "wait") == 0) {
    if (settled(c)) {
      char ok[32];
      snprintf(ok, sizeof ok, "ok %d", c->has_exit ? c->exit_code : 0);
      send_frame(k->fd, ok);
      return 0;
    }
    k->waiting = 1 + WAIT_SETTLED;
    k->for_c = c;
    return 1;
  }
  if (strcmp(verb, "rm") == 0) {
    if (!settled(c)) {
      send_frame(k->fd, "err running");
      return 0;
    }
    end_attachers(c, c->has_exit ? c->exit_code : 0); /* those of a container removed before it started */
    for (int i = 0; i < ncontainers; i++)
      if (containers[i] == c) {
        containers[i] = containers[--ncontainers];
        break;
      }
    free(c->plan);
    free(c->exit_argv);
    free(c->exit_buf);
    free(c->tick_argv);
    free(c->tick_buf);
    free(c);
    send_frame(k->fd, "ok");
    return 0;
  }
  send_frame(k->fd, "err unknown request");
  return 0;
}

/* Freed after the current batch of events, which may still name it (an attacher dropped while output was copied). */
static struct conn *dropped[MAX_CONNS];
static int ndropped;

static void drop_conn(struct conn *k) {
  if (k->fd < 0)
    return;
  for (int i = 0; i < MAX_CONNS; i++)
    if (conns[i] == k)
      conns[i] = NULL;
  epoll_ctl(epfd, EPOLL_CTL_DEL, k->fd, NULL);
  close(k->fd);
  k->fd = -1;
  k->attached = NULL;
  dropped[ndropped++] = k;
}

static void free_dropped(void) {
  for (int i = 0; i < ndropped; i++) {
    free(dropped[i]->buf);
    free(dropped[i]);
  }
  ndropped = 0;
}

/* Reads what the client sent; a whole frame is handled. Returns 0 once the connection is done
 * (answered, or closed by the client), 1 while a frame is incomplete or its answer deferred. */
static int conn_readable(struct conn *k) {
  int eof = 0;
  for (;;) {
    if (k->len == k->cap) {
      size_t cap = k->cap ? k->cap * 2 : 4096;
      if (cap > MAX_FRAME + 4)
        return 0;
      uint8_t *b = realloc(k->buf, cap);
      if (!b)
        return 0;
      k->buf = b, k->cap = cap;
    }
    ssize_t n = recv(k->fd, k->buf + k->len, k->cap - k->len, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      break;
    if (n <= 0) {
      eof = 1; /* what came before is still handled: an attacher's last input */
      break;
    }
    k->len += (size_t)n;
  }
  if (k->attached) {
    attacher_frames(k);
    return !eof && k->fd >= 0;
  }
  if (k->linger_until) {
    k->len = 0; /* input for a container that has exited */
    return !eof;
  }
  if (eof)
    return 0;
  if (k->waiting || k->len < 4)
    return 1;
  uint32_t flen;
  memcpy(&flen, k->buf, 4);
  if (flen > MAX_FRAME)
    return 0;
  if (k->len < 4 + (size_t)flen)
    return 1;
  uint8_t *payload = k->buf + 4;
  uint8_t *nl = memchr(payload, '\n', flen);
  size_t line_len = nl ? (size_t)(nl - payload) : flen;
  char line[1200];
  if (line_len >= sizeof line)
    line_len = sizeof line - 1;
  memcpy(line, payload, line_len);
  line[line_len] = 0;
  const uint8_t *data = nl ? nl + 1 : payload + flen;
  size_t data_len = (size_t)(payload + flen - data);
  int r = handle(k, line, data, data_len);
  if (r != 2)
    return r;
  /* attached: what follows the request is the attacher's stream */
  memmove(k->buf, k->buf + 4 + flen, k->len - 4 - flen);
  k->len -= 4 + flen;
  attacher_frames(k);
  return !eof && k->fd >= 0;
}

/* ---- the loop --------------------------------------------------------- */

static void accept_conns(void) {
  for (;;) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
      return;
    int slot = -1;
    for (int i = 0; i < MAX_CONNS; i++)
      if (!conns[i]) {
        slot = i;
        break;
      }
    if (slot < 0) {
      close(fd);
      continue;
    }
    struct conn *k = xcalloc(1, sizeof *k);
    k->tag.kind = TAG_CONN;
    k->fd = fd;
    conns[slot] = k;
    watch(fd, EPOLLIN | EPOLLRDHUP, k);
  }
}

/* A unix socket path is at most 107 bytes; a deeper one is reached through an fd of its directory. */
static void start_listening(void) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  int dirfd = -1;
  if (strlen(socket_path) < sizeof addr.sun_path) {
    strcpy(addr.sun_path, socket_path);
  } else {
    char *slash = strrchr(socket_path, '/');
    if (!slash)
      fatal("the socket path is too long", ENAMETOOLONG);
    *slash = 0;
    dirfd = open(socket_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    *slash = '/';
    if (dirfd < 0)
      fatal("cannot open the pod's directory", errno);
    if ((size_t)snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d%s", dirfd, slash) >= sizeof addr.sun_path)
      fatal("the socket name is too long", ENAMETOOLONG);
  }
  unlink(socket_path);
  listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listen_fd, 64) < 0)
    fatal("cannot listen on the pod's socket", errno);
  if (dirfd >= 0)
    close(dirfd);
  watch(listen_fd, EPOLLIN, &listen_tag);
}

/* `init SOCKET KIND` + the port server's plan, from the creator on fd 3. */
static void control_readable(void) {
  static uint8_t buf[MAX_FRAME + 4];
  static size_t len;
  for (;;) {
    ssize_t n = recv(control_fd, buf + len, sizeof buf - len, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN)
      break;
    if (n <= 0) {
      kill(pause_pid, SIGKILL); /* the creator died before the pod was made */
      epoll_ctl(epfd, EPOLL_CTL_DEL, control_fd, NULL);
      close(control_fd);
      control_fd = -1;
      return;
    }
    len += (size_t)n;
  }
  uint32_t flen;
  if (len < 4)
    return;
  memcpy(&flen, buf, 4);
  if (len < 4 + (size_t)flen)
    return;
  uint8_t *nl = memchr(buf + 4, '\n', flen);
  if (!nl) {
    port_give_up(&servers[0], "err malformed init");
    return;
  }
  *nl = 0;
  char kind[16] = "";
  if (sscanf((char *)buf + 4, PROTOCOL " init %4095s %15s", socket_path, kind) != 2) {
    port_give_up(&servers[0], "err malformed init");
    return;
  }
  struct port_server *p = &servers[0];
  p->kind = strcmp(kind, "forward") == 0 ? 1 : strcmp(kind, "pasta") == 0 ? 2 : 0;
  start_listening();
  if (!p->kind) {
    port_ready();
    return;
  }
  set_plan(&p->plan, &p->plan_len, nl + 1, (size_t)(buf + 4 + flen - (nl + 1)));
  char failure[600];
  if (port_launch(p, failure, sizeof failure) < 0) {
    port_give_up(p, failure);
    return;
  }
  if (p->ready)
    port_ready();
}

static void reap_children(void) {
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG | __WALL);
    if (pid <= 0)
      return;
    if (pid == pause_pid) {
      pause_reaped = 1;
      exit_deadline = now_ms() + EXIT_GRACE_MS;
      for (int i = 0; i < nservers; i++) {
        servers[i].closed = 1;
        if (servers[i].pid > 0)
          kill(servers[i].pid, SIGKILL);
      }
      for (int i = 0; i < ncontainers; i++) {
        struct container *c = containers[i];
        c->stop_requested = 1;
        if (c->state == RESTARTING) {
          c->restart_at = 0;
          finish(c, c->has_exit ? c->exit_code : 137, NULL);
        }
      }
      continue;
    }
    struct port_server *server = NULL;
    for (int i = 0; i < nservers && !server; i++)
      if (servers[i].pid == pid)
        server = &servers[i];
    if (server) {
      port_reaped(server);
      continue;
    }
    for (int i = 0; i < ncontainers; i++) {
      if (containers[i]->tick_pid == pid) {
        containers[i]->tick_pid = 0;
        break;
      }
      if (containers[i]->pid == pid && !containers[i]->reaped) {
        container_reaped(containers[i], status);
        break;
      }
    }
  }
}

static void run_timers(void) {
  long long now = now_ms();
  for (int i = 0; i < MAX_CONNS; i++)
    if (conns[i] && conns[i]->linger_until && now >= conns[i]->linger_until)
      drop_conn(conns[i]);
  for (int i = 0; i < ncontainers; i++) {
    struct container *c = containers[i];
    if (c->kill_at && now >= c->kill_at) {
      c->kill_at = 0;
      signal_container(c, SIGKILL);
    }
    if (c->drain_until && now >= c->drain_until)
      finalize_exit(c);
    if (c->tick_at && now >= c->tick_at) {
      /* only while it runs (start arms it again); one at a time: a slow check is not stacked */
      c->tick_at = c->state == RUNNING ? now + c->tick_every : 0;
      if (c->state == RUNNING && c->tick_pid == 0 && !pod_stopping && !pause_reaped) {
        pid_t pid = spawn_command(c->tick_argv);
        c->tick_pid = pid > 0 ? pid : 0;
      }
    }
    if (c->restart_at && now >= c->restart_at) {
      c->restart_at = 0;
      if (c->stop_requested || pause_reaped) {
        finish(c, c->exit_code, NULL);
      } else {
        char failure[600];
        if (start(c, failure, sizeof failure) < 0)
          restart_failed(c, failure);
      }
    }
  }
  if (pod_kill_at && now >= pod_kill_at) {
    pod_kill_at = 0;
    kill(pause_pid, SIGKILL);
  }
  for (int i = 0; i < nservers; i++) {
    struct port_server *p = &servers[i];
    if (p->restart_at && now >= p->restart_at) {
      p->restart_at = 0;
      char failure[600];
      if (!p->closed && !pause_reaped && port_launch(p, failure, sizeof failure) < 0)
        port_give_up(p, failure);
    }
    if (p->pid > 0 && !p->ready) {
      if (pasta_ready(p)) {
        p->ready = 1;
        p->ready_by = 0;
        port_ready();
      } else if (now > p->ready_by) {
        kill(p->pid, SIGKILL);
        p->ready_by = now + 1000000;
      }
    }
  }
}

static long long next_timeout(void) {
  long long next = -1, now = now_ms();
#define CONSIDER(t)                                                                                                    \
  do {                                                                                                                 \
    if ((t) > 0 && (next < 0 || (t) < next))                                                                           \
      next = (t);                                                                                                      \
  } while (0)
  for (int i = 0; i < ncontainers; i++) {
    CONSIDER(containers[i]->kill_at);
    CONSIDER(containers[i]->drain_until);
    CONSIDER(containers[i]->restart_at);
    CONSIDER(containers[i]->tick_at);
  }
  for (int i = 0; i < MAX_CONNS; i++)
    if (conns[i])
      CONSIDER(conns[i]->linger_until);
  CONSIDER(pod_kill_at);
  for (int i = 0; i < nservers; i++) {
    CONSIDER(servers[i].restart_at);
    if (servers[i].pid > 0 && !servers[i].ready)
      CONSIDER(now + 5);
  }
  CONSIDER(exit_deadline);
  if (next < 0)
    return -1;
  return next > now ? next - now : 0;
}

static int pod_gone(void) {
  if (!pause_reaped)
    return 0;
  for (int i = 0; i < nservers; i++)
    if (servers[i].pid > 0)
      return 0;
  for (int i = 0; i < ncontainers; i++)
    if (containers[i]->pid > 0 || containers[i]->restart_at || containers[i]->drain_until)
      return 0;
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: nsbox-keeper POD_DIR NLISTENERS PAUSE_PID\n");
    return 2;
  }
  snprintf(pod_dir, sizeof pod_dir, "%s", argv[1]);
  int nlisteners = atoi(argv[2]);
  pause_pid = atoi(argv[3]);
  slot_base = 4 + nlisteners;
  if (chdir("/") < 0) /* hold no mount busy */
    fatal("chdir /", errno);
  for (int fd = CONTROL_FD; fd < slot_base; fd++)
    fcntl(fd, F_SETFD, FD_CLOEXEC);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGXFSZ, SIG_IGN); /* a log past the file size limit is a failed write, not our death */
  /* The slots first: every fd we open later must land above them. */
  for (int s = 0; s < NSLOTS; s++)
    fill_slot(s, -1);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (sigfd < 0 || epfd < 0)
    fatal("signalfd/epoll", errno);
  int pidfd = (int)syscall(SYS_pidfd_open, pause_pid, 0);
  if (pidfd < 0)
    fatal("pidfd_open of the pause", errno);
  fill_slot(SLOT_PAUSE, pidfd);
  close(pidfd);
  watch(sigfd, EPOLLIN, &signal_tag);
  fcntl(control_fd, F_SETFL, O_NONBLOCK);
  watch(control_fd, EPOLLIN | EPOLLRDHUP, &control_tag);
  reap_children(); /* the pause may be gone already */

  struct epoll_event events[64];
  for (;;) {
    if (pod_gone())
      break;
    if (exit_deadline && now_ms() > exit_deadline)
      break;
    int n = epoll_wait(epfd, events, 64, (int)next_timeout());
    if (n < 0 && errno != EINTR)
      fatal("epoll_wait", errno);
    for (int i = 0; i < n; i++) {
      struct tag *t = events[i].data.ptr;
      switch (t->kind) {
      case TAG_SIGNAL: {
        struct signalfd_siginfo si;
        while (read(sigfd, &si, sizeof si) == sizeof si)
          if (si.ssi_signo != SIGCHLD)
            stop_pod(10000);
        reap_children();
        break;
      }
      case TAG_LISTEN:
        accept_conns();
        break;
      case TAG_CONTROL:
        if (control_fd >= 0)
          control_readable();
        break;
      case TAG_PIPE:
        if (((struct pipe_end *)t)->fd >= 0)
          read_pipe((struct pipe_end *)t);
        break;
      case TAG_CONN: {
        struct conn *k = (struct conn *)t;
        /* answered, or the client went away (also while it waited) */
        if (k->fd >= 0 && !conn_readable(k))
          drop_conn(k);
        break;
      }
      }
    }
    free_dropped();
    run_timers();
    stop_pause_when_settled();
    free_dropped();
  }
  /* host ports closed (the port server reaped) before anyone is told the pod is gone */
  if (listen_fd >= 0)
    close(listen_fd);
  for (int fd = CONTROL_FD + 1; fd < slot_base; fd++)
    close(fd);
  for (int i = 0; i < nservers; i++)
    for (int j = 0; j < servers[i].nlisteners; j++)
      close(servers[i].listeners[j]);
  if (socket_path[0])
    unlink(socket_path);
  for (int i = 0; i < MAX_CONNS; i++)
    if (conns[i] && conns[i]->waiting == 1 + WAIT_POD_GONE)
      send_frame(conns[i]->fd, "ok");
  return 0;
}

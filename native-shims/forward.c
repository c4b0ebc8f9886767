/*
 * nsbox-forward: the builtin port forwarder's data path.
 *
 * It runs inside a pod's user and network namespaces and inherits listening
 * sockets that were opened in the host's network namespace. Connections
 * accepted on them are relayed to 127.0.0.1:PODPORT, the pod's loopback. Which sockets and ports is decided in
 * TypeScript (src/net); this file only moves bytes.
 *
 *   nsbox-forward FD:PODPORT:tcp|udp ...
 *
 * TCP: one epoll loop, bytes move socket -> pipe -> socket with splice(2),
 * so they never enter user space (see the TCP section for the event rules). A half-close passes through (shutdown
 * SHUT_WR after the pipe drains); a reset or a refused backend closes the
 * other side with a reset (SO_LINGER 0). Each direction buffers at most one
 * pipe (64 KiB), so a client that stops reading stalls only its own
 * connection.
 *
 * UDP: a flow per client address, each with its own connected socket to
 * the pod port; replies go back from the host socket to that client. Flows
 * idle for UDP_IDLE_SECONDS are closed; at most MAX_UDP_FLOWS per port (the
 * oldest goes first).
 *
 * Exits 0 when its parent's death signal arrives (set by the spawner), and
 * never exits on a connection's error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PIPE_CHUNK (1 << 16)
#define MAX_EVENTS 128
#define UDP_IDLE_SECONDS 60
#define MAX_UDP_FLOWS 1024
#define UDP_BUF 65536

enum kind { TCP_LISTENER, TCP_SIDE, UDP_LISTENER, UDP_FLOW };

/* Every epoll registration points at one of these (first member: kind). */
struct tag {
  enum kind kind;
};

struct conn;

/* Bytes from `from` to `to`, through a pipe. */
struct direction {
  int from, to;
  int pipe_r, pipe_w;
  size_t in_pipe;
  int pipe_full; /* splice in found no room (pipe slots): wait for a splice out */
  int bulk;      /* a full buffer was read once: a stream, spliced from then on */
  int eof;       /* `from` said EOF */
  int done;      /* EOF passed on: `to` was shut down for writing */
};

struct side {
  struct tag tag;
  struct conn *conn;
  int fd;
  unsigned mask;  /* events registered with epoll */
  int registered;
};

struct conn {
  int connecting;
  int dead;
  struct side client, upstream;
  struct direction up, down; /* up: client -> upstream, down: upstream -> client */
  struct conn *next_dead;
};

struct tcp_listener {
  struct tag tag;
  int fd;
  int port;
};

struct udp_flow {
  struct tag tag;
  struct udp_listener *listener;
  struct sockaddr_storage client;
  socklen_t client_len;
  int fd;
  time_t last;
  struct udp_flow *next;
};

struct udp_listener {
  struct tag tag;
  int fd;
  int port;
  int nflows;
  struct udp_flow *flows;
};

static int epfd;
static struct conn *dead_conns;
static struct udp_flow *dead_flows; /* freed after the epoll batch, like dead_conns */
static char udp_buf[UDP_BUF];

static void fail(const char *what) {
  fprintf(stderr, "nsbox-forward: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int watch(int fd, void *tag, unsigned events) {
  struct epoll_event ev = {.events = events, .data.ptr = tag};
  return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static struct sockaddr_in pod_loopback(int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static void set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* ---- TCP ---- */
/*
 * Level-triggered, and each event moves only the direction it concerns: a
 * readable side is spliced into its pipe and on to the other side at once;
 * a writable side gets what waits in the pipe towards it. A request or an
 * answer costs two splices, no EAGAIN probing. Interest follows the state:
 * EPOLLIN while the pipe has room, EPOLLOUT only while bytes wait.
 */

static void reset_on_close(int fd) {
  struct linger l = {.l_onoff = 1, .l_linger = 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

static void kill_conn(struct conn *c, int reset) {
  if (c->dead) return;
  c->dead = 1;
  if (reset) {
    reset_on_close(c->client.fd);
    reset_on_close(c->upstream.fd);
  }
  /* close() drops the epoll registrations; the memory goes after the batch. */
  int fds[] = {c->client.fd, c->upstream.fd, c->up.pipe_r, c->up.pipe_w, c->down.pipe_r, c->down.pipe_w};
  for (unsigned i = 0; i < sizeof fds / sizeof fds[0]; i++)
    if (fds[i] >= 0) close(fds[i]);
  c->next_dead = dead_conns;
  dead_conns = c;
}

static int hard_error(int err) { return err != EAGAIN && err != EINTR; }

/* The direction that reads from side s, and the one that writes to it. */
static struct direction *reading(struct conn *c, struct side *s) { return s == &c->client ? &c->up : &c->down; }
static struct direction *writing(struct conn *c, struct side *s) { return s == &c->client ? &c->down : &c->up; }

static unsigned wanted(struct conn *c, struct side *s) {
  if (c->connecting) return s == &c->upstream ? EPOLLOUT : 0;
  struct direction *in = reading(c, s), *out = writing(c, s);
  unsigned m = 0;
  if (!in->eof && !in->pipe_full && in->in_pipe < PIPE_CHUNK) m |= EPOLLIN | EPOLLRDHUP;
  if (out->in_pipe > 0) m |= EPOLLOUT;
  return m;
}

/*
 * EPOLLHUP/EPOLLERR are reported even with an empty mask: a side we want
 * nothing from is taken out of epoll, so a hung-up peer cannot spin us.
 */
static int update_interest(struct conn *c, struct side *s) {
  unsigned m = wanted(c, s);
  if (s->registered && m == s->mask) return 0;
  struct epoll_event ev = {.events = m, .data.ptr = s};
  if (m == 0) {
    if (s->registered) epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
    s->registered = 0;
  } else if (epoll_ctl(epfd, s->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s->fd, &ev) < 0) {
    return -1; /* ENOMEM, or max_user_watches: this connection goes, the others stay */
  } else {
    s->registered = 1;
  }
  s->mask = m;
  return 0;
}

static void update_both(struct conn *c) {
  if (update_interest(c, &c->client) < 0 || update_interest(c, &c->upstream) < 0) kill_conn(c, 1);
}

/* Pipe -> `to`; returns -1 on a connection error. */
static int drain(struct direction *d) {
  while (d->in_pipe > 0) {
    ssize_t n = splice(d->pipe_r, NULL, d->to, NULL, d->in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n < 0) return hard_error(errno) ? -1 : 0;
    d->in_pipe -= (size_t)n;
    d->pipe_full = 0;
  }
  return 0;
}

/*
 * Small messages (requests, short answers) are cheaper to copy than to move
 * through a pipe: recv + send, two syscalls and no pipe bookkeeping. What
 * send leaves over goes into the (empty) pipe, ahead of anything later. Once
 * a read fills the whole buffer the direction is a stream and splices.
 */
static char relay_buf[PIPE_CHUNK];

static int copy_small(struct direction *d) {
  ssize_t n = recv(d->from, relay_buf, sizeof relay_buf, MSG_DONTWAIT);
  if (n == 0) {
    d->eof = 1;
    return 0;
  }
  if (n < 0) return hard_error(errno) ? -1 : 0;
  if ((size_t)n == sizeof relay_buf) d->bulk = 1;
  ssize_t sent = send(d->to, relay_buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (sent < 0) {
    if (hard_error(errno)) return -1;
    sent = 0;
  }
  if (sent < n) {
    ssize_t rest = n - sent;
    if (write(d->pipe_w, relay_buf + sent, (size_t)rest) != rest) return -1; /* an empty pipe takes 64 KiB */
    d->in_pipe += (size_t)rest;
  }
  return 0;
}

/* `from` -> `to`: copied while messages are small, else one splice into the pipe and on. */
static int forward(struct direction *d) {
  if (d->eof || d->pipe_full) return 0;
  if (!d->bulk && d->in_pipe == 0) return copy_small(d);
  ssize_t n = splice(d->from, NULL, d->pipe_w, NULL, PIPE_CHUNK - d->in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  if (n > 0) d->in_pipe += (size_t)n;
  else if (n == 0) d->eof = 1;
  else if (errno == EAGAIN) d->pipe_full = 1; /* readable (epoll said so), so the pipe is what is full */
  else if (errno != EINTR) return -1;
  return drain(d);
}

static void pass_eof(struct direction *d) {
  if (d->eof && d->in_pipe == 0 && !d->done) {
    shutdown(d->to, SHUT_WR);
    d->done = 1;
  }
}

static int connected(struct conn *c) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(c->upstream.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return -1;
  if (err) return -1;
  struct sockaddr_storage peer;
  socklen_t plen = sizeof peer;
  if (getpeername(c->upstream.fd, (struct sockaddr *)&peer, &plen) < 0) return errno == ENOTCONN ? 0 : -1;
  return 1;
}

static void side_event(struct side *s, unsigned events) {
  struct conn *c = s->conn;
  if (c->dead) return;
  if (c->connecting) {
    int r = connected(c);
    if (r < 0) {
      kill_conn(c, 1); /* backend down: the client sees a reset at once */
      return;
    }
    if (r == 0) return;
    c->connecting = 0; /* what the client sent meanwhile: its EPOLLIN comes now */
  } else {
    if ((events & EPOLLERR) ||
        ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) && forward(reading(c, s)) < 0) ||
        ((events & EPOLLOUT) && drain(writing(c, s)) < 0)) {
      kill_conn(c, 1);
      return;
    }
  }
  pass_eof(&c->up);
  pass_eof(&c->down);
  if (c->up.done && c->down.done) {
    kill_conn(c, 0);
    return;
  }
  update_both(c);
}

static int make_pipe(struct direction *d) {
  int p[2];
  if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) return -1;
  d->pipe_r = p[0];
  d->pipe_w = p[1];
  return 0;
}

/*
 * Out of fds, a connection left in the backlog would make the (level-
 * triggered) listener spin: one fd is held in reserve to accept it and
 * reset it at once, so the client learns and we stay idle.
 */
static int reserve_fd = -1;

static void refuse_one(int listener) {
  if (reserve_fd < 0) return;
  close(reserve_fd);
  int client = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
  if (client >= 0) {
    reset_on_close(client);
    close(client);
  }
  reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void accept_tcp(struct tcp_listener *l) {
  for (;;) {
    int client = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client < 0) {
      if (errno == EMFILE || errno == ENFILE) refuse_one(l->fd);
      else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
        fprintf(stderr, "nsbox-forward: accept: %s\n", strerror(errno));
      return;
    }
    struct conn *c = calloc(1, sizeof *c);
    int upstream = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (!c || upstream < 0) {
      if (upstream >= 0) close(upstream);
      reset_on_close(client);
      close(client);
      free(c);
      continue;
    }
    c->client = (struct side){.tag = {TCP_SIDE}, .conn = c, .fd = client};
    c->upstream = (struct side){.tag = {TCP_SIDE}, .conn = c, .fd = upstream};
    c->up = (struct direction){.from = client, .to = upstream, .pipe_r = -1, .pipe_w = -1};
    c->down = (struct direction){.from = upstream, .to = client, .pipe_r = -1, .pipe_w = -1};
    int one = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(upstream, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in to = pod_loopback(l->port);
    int r = connect(upstream, (struct sockaddr *)&to, sizeof to);
    if ((r < 0 && errno != EINPROGRESS) || make_pipe(&c->up) < 0 || make_pipe(&c->down) < 0) {
      kill_conn(c, 1);
      continue;
    }
    c->connecting = r < 0;
    update_both(c);
  }
}

/* ---- UDP ---- */

static void close_flow(struct udp_listener *l, struct udp_flow *f) {
  struct udp_flow **p = &l->flows;
  while (*p && *p != f) p = &(*p)->next;
  if (*p) *p = f->next;
  close(f->fd);
  f->fd = -1;
  f->next = dead_flows;
  dead_flows = f;
  l->nflows--;
}

static struct udp_flow *find_flow(struct udp_listener *l, struct sockaddr_storage *from, socklen_t len) {
  for (struct udp_flow *f = l->flows; f; f = f->next)
    if (f->client_len == len && memcmp(&f->client, from, len) == 0) return f;
  return NULL;
}

static struct udp_flow *new_flow(struct udp_listener *l, struct sockaddr_storage *from, socklen_t len) {
  if (l->nflows >= MAX_UDP_FLOWS) {
    struct udp_flow *oldest = l->flows;
    for (struct udp_flow *f = l->flows; f; f = f->next)
      if (f->last < oldest->last) oldest = f;
    close_flow(l, oldest);
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return NULL;
  struct sockaddr_in to = pod_loopback(l->port);
  struct udp_flow *f = calloc(1, sizeof *f);
  if (!f || connect(fd, (struct sockaddr *)&to, sizeof to) < 0) {
    close(fd);
    free(f);
    return NULL;
  }
  f->tag.kind = UDP_FLOW;
  f->listener = l;
  memcpy(&f->client, from, len);
  f->client_len = len;
  f->fd = fd;
  f->next = l->flows;
  l->flows = f;
  l->nflows++;
  if (watch(fd, f, EPOLLIN) < 0) {
    close_flow(l, f);
    return NULL;
  }
  return f;
}

static void udp_from_client(struct udp_listener *l, time_t now) {
  for (;;) {
    struct sockaddr_storage from;
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(l->fd, udp_buf, sizeof udp_buf, MSG_DONTWAIT, (struct sockaddr *)&from, &len);
    if (n < 0) return;
    struct udp_flow *f = find_flow(l, &from, len);
    if (!f) f = new_flow(l, &from, len);
    if (!f) continue;
    f->last = now;
    send(f->fd, udp_buf, (size_t)n, MSG_DONTWAIT); /* a datagram the pod refuses is dropped, as on a network */
  }
}

static void udp_from_pod(struct udp_flow *f, time_t now) {
  while (f->fd >= 0) {
    ssize_t n = recv(f->fd, udp_buf, sizeof udp_buf, MSG_DONTWAIT);
    if (n < 0) return; /* EAGAIN, or ECONNREFUSED from an earlier send: nothing to relay */
    f->last = now;
    sendto(f->listener->fd, udp_buf, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&f->client, f->client_len);
  }
}

static void expire_flows(struct udp_listener **ls, int n, time_t now) {
  for (int i = 0; i < n; i++) {
    struct udp_flow *f = ls[i]->flows;
    while (f) {
      struct udp_flow *next = f->next;
      if (now - f->last > UDP_IDLE_SECONDS) close_flow(ls[i], f);
      f = next;
    }
  }
}

/* ---- main ---- */

static time_t monotonic_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: nsbox-forward FD:PODPORT:tcp|udp ...\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) fail("epoll_create1");
  reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  struct udp_listener **udp = calloc((size_t)argc, sizeof *udp);
  int nudp = 0;
  for (int i = 1; i < argc; i++) {
    int fd, port;
    char proto[4];
    if (sscanf(argv[i], "%d:%d:%3s", &fd, &port, proto) != 3 || port < 1 || port > 65535) {
      fprintf(stderr, "nsbox-forward: bad spec %s (want FD:PODPORT:tcp|udp)\n", argv[i]);
      return 2;
    }
    set_nonblocking(fd);
    if (strcmp(proto, "tcp") == 0) {
      struct tcp_listener *l = calloc(1, sizeof *l);
      if (!l) fail("calloc");
      *l = (struct tcp_listener){.tag = {TCP_LISTENER}, .fd = fd, .port = port};
      if (watch(fd, l, EPOLLIN) < 0) fail("epoll_ctl");
    } else if (strcmp(proto, "udp") == 0) {
      struct udp_listener *l = calloc(1, sizeof *l);
      if (!l) fail("calloc");
      *l = (struct udp_listener){.tag = {UDP_LISTENER}, .fd = fd, .port = port};
      if (watch(fd, l, EPOLLIN) < 0) fail("epoll_ctl");
      udp[nudp++] = l;
    } else {
      fprintf(stderr, "nsbox-forward: bad protocol in %s\n", argv[i]);
      return 2;
    }
  }

  struct epoll_event events[MAX_EVENTS];
  time_t last_sweep = monotonic_seconds();
  for (;;) {
    int n = epoll_wait(epfd, events, MAX_EVENTS, nudp ? 5000 : -1);
    if (n < 0 && errno != EINTR) fail("epoll_wait");
    time_t now = monotonic_seconds();
    for (int i = 0; i < n; i++) {
      struct tag *t = events[i].data.ptr;
      switch (t->kind) {
      case TCP_LISTENER: accept_tcp((struct tcp_listener *)t); break;
      case TCP_SIDE: side_event((struct side *)t, events[i].events); break;
      case UDP_LISTENER: udp_from_client((struct udp_listener *)t, now); break;
      case UDP_FLOW: udp_from_pod((struct udp_flow *)t, now); break;
      }
    }
    /* Connections killed in this batch may still have had events queued in it. */
    while (dead_conns) {
      struct conn *c = dead_conns;
      dead_conns = c->next_dead;
      free(c);
    }
    while (dead_flows) {
      struct udp_flow *f = dead_flows;
      dead_flows = f->next;
      free(f);
    }
    if (nudp && now - last_sweep >= 5) {
      expire_flows(udp, nudp, now);
      last_sweep = now;
    }
  }
}

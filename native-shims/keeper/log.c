/*
 * Container logs in docker's json-file format, one object per line:
 *   {"log":"TEXT","stream":"stdout"|"stderr","time":"RFC 3339"}
 * One entry per line of output, a longer line in pieces of at most 16 KiB.
 * A character split across two reads is held back until it is whole.
 *
 * A failed write (a full disk, the file size limit) must neither stop the
 * container nor the keeper: the entry is dropped and counted, every later
 * write is tried again, and the first that works is preceded by a line on
 * stderr saying how much was lost and why. Rotation by size: the full file
 * becomes LOG.1 (replacing the one before).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "keeper.h"

#define MAX_PIECE (16 * 1024)

void iso_now(char out[32]) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Length of the UTF-8 sequence that starts with b, or 0 if b cannot start one. */
static size_t seq_len(unsigned char b) {
  if (b < 0x80)
    return 1;
  if (b >= 0xc2 && b <= 0xdf)
    return 2;
  if (b >= 0xe0 && b <= 0xef)
    return 3;
  if (b >= 0xf0 && b <= 0xf4)
    return 4;
  return 0;
}

/* True when s[0..len) is one well-formed character (no overlong forms, no surrogates). */
static int valid_seq(const unsigned char *s, size_t len) {
  for (size_t i = 1; i < len; i++)
    if ((s[i] & 0xc0) != 0x80)
      return 0;
  if (len == 3 && s[0] == 0xe0 && s[1] < 0xa0)
    return 0;
  if (len == 3 && s[0] == 0xed && s[1] >= 0xa0)
    return 0;
  if (len == 4 && s[0] == 0xf0 && s[1] < 0x90)
    return 0;
  if (len == 4 && s[0] == 0xf4 && s[1] >= 0x90)
    return 0;
  return 1;
}

size_t json_escape(char *out, const unsigned char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    unsigned char b = s[i];
    if (b >= 0x80) {
      size_t len = seq_len(b);
      if (len && i + len <= n && valid_seq(s + i, len)) {
        memcpy(out + o, s + i, len);
        o += len;
        i += len;
      } else {
        memcpy(out + o, "\xef\xbf\xbd", 3); /* U+FFFD, one per bad byte */
        o += 3;
        i++;
      }
      continue;
    }
    i++;
    if (b == '"' || b == '\\') {
      out[o++] = '\\';
      out[o++] = (char)b;
    } else if (b == '\n') {
      out[o++] = '\\';
      out[o++] = 'n';
    } else if (b == '\r') {
      out[o++] = '\\';
      out[o++] = 'r';
    } else if (b == '\t') {
      out[o++] = '\\';
      out[o++] = 't';
    } else if (b == '\b') {
      out[o++] = '\\';
      out[o++] = 'b';
    } else if (b == '\f') {
      out[o++] = '\\';
      out[o++] = 'f';
    } else if (b < 0x20) {
      memcpy(out + o, "\\u00", 4);
      out[o + 4] = hex[b >> 4];
      out[o + 5] = hex[b & 15];
      o += 6;
    } else {
      out[o++] = (char)b;
    }
  }
  out[o] = 0;
  return o;
}

static int open_log(struct log_writer *w) {
  if (w->fd >= 0)
    return 1;
  w->fd = open(w->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (w->fd < 0) {
    w->last_errno = errno;
    return 0;
  }
  struct stat st;
  w->size = fstat(w->fd, &st) == 0 ? st.st_size : 0;
  return 1;
}

void log_open(struct log_writer *w, const char *path, long long max_size) {
  memset(w, 0, sizeof *w);
  snprintf(w->path, sizeof w->path, "%s", path);
  w->fd = -1;
  w->max_size = max_size;
  open_log(w);
}

static void rotate(struct log_writer *w) {
  char old[PATH_MAX + 2];
  snprintf(old, sizeof old, "%s.1", w->path);
  if (rename(w->path, old) < 0) {
    w->last_errno = errno; /* keep appending: a log that cannot rotate still logs */
    return;
  }
  close(w->fd);
  w->fd = -1;
  open_log(w);
}

/* Writes one whole line; 0 (and nothing more written) once a write fails. */
static int append(struct log_writer *w, const char *line, size_t len) {
  if (!open_log(w))
    return 0;
  size_t prefix = w->cut ? 1 : 0;
  size_t done = 0;
  while (done < prefix + len) {
    const char *from = done < prefix ? "\n" : line + (done - prefix);
    size_t want = done < prefix ? 1 : len - (done - prefix);
    ssize_t n = write(w->fd, from, want);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      w->last_errno = n < 0 ? errno : EIO;
      if (done > prefix)
        w->cut = 1;
      return 0;
    }
    done += (size_t)n;
  }
  w->cut = 0;
  w->size += (long long)done;
  if (w->max_size > 0 && w->size >= w->max_size)
    rotate(w);
  return 1;
}

static char entry_buf[MAX_PIECE * 6 + 256];

static size_t format_entry(int stream, const unsigned char *data, size_t n) {
  char now[32];
  iso_now(now);
  size_t o = (size_t)snprintf(entry_buf, sizeof entry_buf, "{\"log\":\"");
  o += json_escape(entry_buf + o, data, n);
  o += (size_t)snprintf(entry_buf + o, sizeof entry_buf - o, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n",
                        stream ? "stderr" : "stdout", now);
  return o;
}

static void say_loss(struct log_writer *w) {
  const char *why = w->lost_errno == ENOSPC  ? "the disk is full"
                    : w->lost_errno == EFBIG ? "the file size limit was reached"
                                             : "it could not be written";
  const char *name = w->lost_errno ? strerrorname_np(w->lost_errno) : NULL;
  char text[256];
  int n = snprintf(text, sizeof text, "nsbox: %lld bytes of output were lost: %s (%s)\n", w->lost_bytes, why,
                   name ? name : "error");
  size_t len = format_entry(1, (const unsigned char *)text, (size_t)n);
  if (append(w, entry_buf, len)) {
    w->lost_bytes = 0;
    w->lost_errno = 0;
  }
}

static void write_entry(struct log_writer *w, int stream, const unsigned char *data, size_t n) {
  if (w->lost_bytes > 0)
    say_loss(w);
  if (w->lost_bytes > 0 || !append(w, entry_buf, format_entry(stream, data, n))) {
    w->lost_bytes += (long long)n;
    if (!w->lost_errno)
      w->lost_errno = w->last_errno;
  }
}

/* Splits whole characters into entries: one per line, pieces of at most MAX_PIECE bytes. */
static void write_text(struct log_writer *w, int stream, const unsigned char *s, size_t n) {
  size_t at = 0;
  while (at < n) {
    const unsigned char *nl = memchr(s + at, '\n', n - at);
    size_t end = nl ? (size_t)(nl - s) + 1 : n;
    while (at < end) {
      size_t piece = end - at;
      if (piece > MAX_PIECE) {
        piece = MAX_PIECE;
        /* never cut inside a character */
        while (piece > 1 && (s[at + piece] & 0xc0) == 0x80)
          piece--;
      }
      write_entry(w, stream, s + at, piece);
      at += piece;
    }
  }
}

/* How many bytes at the end of s[0..n) are the start of a character that is not complete yet. */
static size_t incomplete_tail(const unsigned char *s, size_t n) {
  for (size_t back = 1; back <= 3 && back <= n; back++) {
    unsigned char b = s[n - back];
    if ((b & 0xc0) == 0x80)
      continue; /* a continuation byte: its lead is further back */
    size_t len = seq_len(b);
    if (len > back && valid_seq(s + n - back, back))
      return back;
    return 0;
  }
  return 0;
}

static unsigned char joined[4 + 65536];

void log_output(struct log_writer *w, int stream, const unsigned char *data, size_t n) {
  while (n > 0) {
    size_t take = n > 65536 ? 65536 : n;
    size_t held = (size_t)w->nheld[stream];
    memcpy(joined, w->held[stream], held);
    memcpy(joined + held, data, take);
    size_t total = held + take;
    size_t tail = incomplete_tail(joined, total);
    memcpy(w->held[stream], joined + total - tail, tail);
    w->nheld[stream] = (int)tail;
    write_text(w, stream, joined, total - tail);
    data += take;
    n -= take;
  }
}

void log_note(struct log_writer *w, const char *text) {
  write_text(w, 1, (const unsigned char *)text, strlen(text));
}

void log_end_stream(struct log_writer *w, int stream) {
  if (w->nheld[stream] == 0)
    return;
  write_text(w, stream, w->held[stream], (size_t)w->nheld[stream]);
  w->nheld[stream] = 0;
}

void log_close(struct log_writer *w) {
  log_end_stream(w, 0);
  log_end_stream(w, 1);
  if (w->lost_bytes > 0)
    say_loss(w); /* one last try, now that the container is done */
  if (w->fd >= 0)
    close(w->fd);
  w->fd = -1;
}

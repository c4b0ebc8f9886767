/* nsbox-keeper: the small per-pod parent. Shared declarations. */
#ifndef NSBOX_KEEPER_H
#define NSBOX_KEEPER_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

/* Wall-clock time as JavaScript's toISOString() writes it: 2026-12-02T01:02:03.456Z */
void iso_now(char out[32]);
/* Monotonic milliseconds. */
long long now_ms(void);

/* Appends s[0..n) to out as the inside of a JSON string: valid UTF-8 is kept,
 * control characters are escaped, an invalid byte becomes U+FFFD. Returns
 * the length written; out needs 6*n+1 bytes. */
size_t json_escape(char *out, const unsigned char *s, size_t n);

/* A container's log in docker's json-file format (log.c). */
struct log_writer {
  char path[PATH_MAX];
  int fd;
  long long size, max_size;
  long long lost_bytes;
  int lost_errno;
  int last_errno;
  int cut;                   /* a write stopped inside a line */
  unsigned char held[2][4];  /* the start of a character split across reads, per stream */
  int nheld[2];
};

void log_open(struct log_writer *w, const char *path, long long max_size);
/* Output read from the container: stream 0 stdout, 1 stderr. */
void log_output(struct log_writer *w, int stream, const unsigned char *data, size_t n);
/* One whole line of nsbox's own (stderr). */
void log_note(struct log_writer *w, const char *text);
/* The stream ended: a held partial character is written as U+FFFD. */
void log_end_stream(struct log_writer *w, int stream);
void log_close(struct log_writer *w);

#endif

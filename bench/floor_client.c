/* The latency floor's client: the least any client can do to get a cycle's
 * statements answered. It speaks the wire protocol itself (trust auth only,
 * no libpq, no result parsing: it walks message headers until ReadyForQuery),
 * prepares the statements once, then sends each cycle as pgdr does in the
 * steady state (Bind/Describe/Execute each, one Sync) at pgdr's pace.
 *
 *   floor_client PORT STATEMENTS_FILE CYCLES PACE_MS
 *
 * STATEMENTS_FILE holds the statements separated by NUL bytes. Prints the
 * backend's pid once warmed up, then one line per cycle: its wall time in nanoseconds; then
 * keeps the connection until its stdin closes.
 * Loopback only (127.0.0.1); bounded: at most 10,000 cycles. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_STATEMENTS 256

struct buf {
  char* data;
  size_t len, cap;
};

static void die(const char* what) {
  fprintf(stderr, "floor_client: %s\n", what);
  exit(1);
}

static void put(struct buf* b, const void* p, size_t n) {
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2;
    b->data = realloc(b->data, b->cap);
    if (!b->data) die("out of memory");
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

static void put32(struct buf* b, uint32_t v) {
  v = htonl(v);
  put(b, &v, 4);
}

static void put16(struct buf* b, uint16_t v) {
  v = htons(v);
  put(b, &v, 2);
}

static void putstr(struct buf* b, const char* s) { put(b, s, strlen(s) + 1); }

/* A message: kind, then its body with the length patched in. */
static size_t begin(struct buf* b, char kind) {
  put(b, &kind, 1);
  size_t at = b->len;
  put32(b, 0);
  return at;
}

static void end(struct buf* b, size_t at) {
  uint32_t n = htonl((uint32_t)(b->len - at));
  memcpy(b->data + at, &n, 4);
}

static void send_all(int fd, const struct buf* b) {
  for (size_t off = 0; off < b->len;) {
    ssize_t n = send(fd, b->data + off, b->len - off, 0);
    if (n <= 0) die("send failed");
    off += (size_t)n;
  }
}

static char in[1 << 20];
static size_t in_len;

/* Reads until a ReadyForQuery; returns the first DataRow's first column as
 * a number when `value` is set (for pg_backend_pid()). */
static void until_ready(int fd, long* value) {
  in_len = 0;
  size_t pos = 0;
  int have_value = 0;
  for (;;) {
    while (in_len - pos >= 5) {
      uint32_t n;
      memcpy(&n, in + pos + 1, 4);
      n = ntohl(n);
      if (in_len - pos < 1 + (size_t)n) break;
      char kind = in[pos];
      if (kind == 'E') die("the server answered an error");
      if (kind == 'R') {
        uint32_t code;
        memcpy(&code, in + pos + 5, 4);
        if (ntohl(code) != 0) die("the server asks for a password (trust auth only)");
      }
      if (kind == 'D' && value && !have_value) {
        uint32_t len;
        memcpy(&len, in + pos + 7, 4);
        len = ntohl(len);
        char text[32] = {0};
        memcpy(text, in + pos + 11, len < 31 ? len : 31);
        *value = atol(text);
        have_value = 1;
      }
      pos += 1 + n;
      if (kind == 'Z') return;
    }
    if (pos > 0) {
      memmove(in, in + pos, in_len - pos);
      in_len -= pos;
      pos = 0;
    }
    if (in_len == sizeof in) die("a message larger than the buffer");
    ssize_t got = recv(fd, in + in_len, sizeof in - in_len, 0);
    if (got <= 0) die("the server closed the connection");
    in_len += (size_t)got;
  }
}

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int main(int argc, char** argv) {
  if (argc != 5) die("usage: floor_client PORT STATEMENTS_FILE CYCLES PACE_MS");
  int port = atoi(argv[1]);
  long cycles = atol(argv[3]);
  long pace_ms = atol(argv[4]);
  if (port <= 0 || cycles <= 0 || cycles > 10000 || pace_ms < 0 || pace_ms > 10000)
    die("bad arguments");

  FILE* f = fopen(argv[2], "rb");
  if (!f) die("cannot open the statements file");
  static char text[1 << 20];
  size_t text_len = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[text_len] = '\0';
  const char* statements[MAX_STATEMENTS];
  int n = 0;
  for (size_t off = 0; off < text_len && n < MAX_STATEMENTS;) {
    statements[n++] = text + off;
    off += strlen(text + off) + 1;
  }

  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr*)&addr, sizeof addr) != 0) die("cannot connect");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  struct buf b = {0};
  put32(&b, 0);
  put32(&b, 196608);
  putstr(&b, "user");
  putstr(&b, "postgres");
  putstr(&b, "database");
  putstr(&b, "postgres");
  putstr(&b, "application_name");
  putstr(&b, "pgdr_bench_floor");
  putstr(&b, "options");  // its statements stay out of pgdr's pg_stat_statements figures
  putstr(&b, "-c pg_stat_statements.track=none");
  put(&b, "", 1);
  uint32_t total = htonl((uint32_t)b.len);
  memcpy(b.data, &total, 4);
  send_all(fd, &b);
  until_ready(fd, NULL);

  b.len = 0;
  size_t at = begin(&b, 'Q');
  putstr(&b, "SELECT pg_backend_pid()");
  end(&b, at);
  send_all(fd, &b);
  long pid = 0;
  until_ready(fd, &pid);

  b.len = 0;
  for (int i = 0; i < n; ++i) {
    char name[16];
    snprintf(name, sizeof name, "s%d", i);
    at = begin(&b, 'P');
    putstr(&b, name);
    putstr(&b, statements[i]);
    put16(&b, 0);
    end(&b, at);
  }
  end(&b, begin(&b, 'S'));
  send_all(fd, &b);
  until_ready(fd, NULL);

  struct buf cycle = {0};
  for (int i = 0; i < n; ++i) {
    char name[16];
    snprintf(name, sizeof name, "s%d", i);
    at = begin(&cycle, 'B');
    putstr(&cycle, "");
    putstr(&cycle, name);
    put16(&cycle, 0);
    put16(&cycle, 0);
    put16(&cycle, 0);
    end(&cycle, at);
    at = begin(&cycle, 'D');
    put(&cycle, "P", 1);
    putstr(&cycle, "");
    end(&cycle, at);
    at = begin(&cycle, 'E');
    putstr(&cycle, "");
    put32(&cycle, 0);
    end(&cycle, at);
  }
  end(&cycle, begin(&cycle, 'S'));

  for (int i = 0; i < 6; ++i) {  // past the custom-plan phase of the plan cache
    send_all(fd, &cycle);
    until_ready(fd, NULL);
  }
  printf("%ld\n", pid);  // the measured cycles start now
  fflush(stdout);
  int64_t start = now_ns();
  for (long i = 0; i < cycles; ++i) {
    int64_t due = start + i * pace_ms * 1000000;
    int64_t wait = due - now_ns();
    if (wait > 0) {
      struct timespec t = {wait / 1000000000, wait % 1000000000};
      nanosleep(&t, NULL);
    }
    int64_t t0 = now_ns();
    send_all(fd, &cycle);
    until_ready(fd, NULL);
    printf("%lld\n", (long long)(now_ns() - t0));
    fflush(stdout);
  }
  fflush(stdout);
  // Held open until stdin closes: the caller reads the backend's CPU first.
  char byte;
  while (read(0, &byte, 1) > 0) {
  }
  close(fd);
  free(b.data);
  free(cycle.data);
  return 0;
}

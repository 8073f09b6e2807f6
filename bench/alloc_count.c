/* An LD_PRELOAD allocation counter for the bench (bench.py builds it with cc).
 *
 * Counts calls of malloc, calloc, realloc, posix_memalign, aligned_alloc and
 * memalign (operator new goes through malloc) per thread, into a file the
 * bench reads while the process runs: PGDR_ALLOC_COUNT_FILE names it, laid
 * out as kSlots records of {uint64 tid, uint64 count}. A thread takes a slot
 * at its first allocation; threads past kSlots share the last one (tid 0).
 * The real allocator is glibc's, reached through its __libc_* entry points
 * (no dlsym, which itself allocates).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { kSlots = 64 };
struct Slot {
  uint64_t tid;
  uint64_t count;
};

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);

static struct Slot* slots;
static uint64_t next_slot;
static __thread __attribute__((tls_model("initial-exec"))) struct Slot* mine;

__attribute__((constructor)) static void Open(void) {
  const char* path = getenv("PGDR_ALLOC_COUNT_FILE");
  if (path == NULL) return;
  const int fd = open(path, O_RDWR | O_CREAT, 0600);
  if (fd < 0) return;
  if (ftruncate(fd, sizeof(struct Slot) * kSlots) == 0) {
    void* p = mmap(NULL, sizeof(struct Slot) * kSlots, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p != MAP_FAILED) slots = p;
  }
  close(fd);
}

static void Count(void) {
  if (slots == NULL) return;
  if (mine == NULL) {
    uint64_t i = __atomic_fetch_add(&next_slot, 1, __ATOMIC_RELAXED);
    if (i >= kSlots - 1) {
      i = kSlots - 1;
    } else {
      __atomic_store_n(&slots[i].tid, (uint64_t)syscall(SYS_gettid), __ATOMIC_RELAXED);
    }
    mine = &slots[i];
  }
  __atomic_fetch_add(&mine->count, 1, __ATOMIC_RELAXED);
}

void* malloc(size_t n) {
  Count();
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
  Count();
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
  Count();
  return __libc_realloc(p, n);
}
void* memalign(size_t align, size_t n) {
  Count();
  return __libc_memalign(align, n);
}
void* aligned_alloc(size_t align, size_t n) {
  Count();
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, size_t align, size_t n) {
  Count();
  void* p = __libc_memalign(align, n);
  if (p == NULL) return 12; /* ENOMEM */
  *out = p;
  return 0;
}

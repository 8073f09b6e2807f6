/* An LD_PRELOAD allocation counter for the bench (bench.py builds it with cc).
 *
 * Counts calls of malloc, calloc, realloc, posix_memalign, aligned_alloc and
 * memalign (operator new goes through malloc) per thread and per caller, into
 * a file the bench reads while the process runs: PGDR_ALLOC_COUNT_FILE names
 * it, laid out as kSlots records of {uint64 tid, uint64 own, uint64 libpq}.
 * `libpq` counts the calls made from inside libpq (the return address lies in
 * libpq.so's executable mapping, found once with dl_iterate_phdr): its
 * PGresults, which no caller of libpq's API can avoid. `own` counts the rest:
 * pgdr's code, libstdc++ (operator new) and the other libraries; libc
 * functions libpq calls that allocate themselves (strdup) count there too.
 * A thread takes a slot at its first allocation; threads past kSlots share
 * the last one (tid 0). The real allocator is glibc's, reached through its
 * __libc_* entry points (no dlsym, which itself allocates).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { kSlots = 64, kRanges = 4 };
struct Slot {
  uint64_t tid;
  uint64_t own;
  uint64_t libpq;
};

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);

static struct Slot* slots;
static uint64_t next_slot;
static __thread __attribute__((tls_model("initial-exec"))) struct Slot* mine;

/* libpq's executable segments: [start, end) pairs. */
static uintptr_t libpq_ranges[kRanges][2];
static int libpq_range_count;

static int FindLibpq(struct dl_phdr_info* info, size_t size, void* data) {
  (void)size;
  (void)data;
  const char* slash = info->dlpi_name != NULL ? strrchr(info->dlpi_name, '/') : NULL;
  const char* base = slash != NULL ? slash + 1 : info->dlpi_name;
  if (base == NULL || strncmp(base, "libpq.so", 8) != 0) return 0;
  for (int i = 0; i < info->dlpi_phnum && libpq_range_count < kRanges; ++i) {
    const ElfW(Phdr)* ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || (ph->p_flags & PF_X) == 0) continue;
    libpq_ranges[libpq_range_count][0] = info->dlpi_addr + ph->p_vaddr;
    libpq_ranges[libpq_range_count][1] = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
    ++libpq_range_count;
  }
  return 1;
}

__attribute__((constructor)) static void Open(void) {
  const char* path = getenv("PGDR_ALLOC_COUNT_FILE");
  if (path == NULL) return;
  /* Every DT_NEEDED library is mapped before any constructor runs. */
  dl_iterate_phdr(FindLibpq, NULL);
  const int fd = open(path, O_RDWR | O_CREAT, 0600);
  if (fd < 0) return;
  if (ftruncate(fd, sizeof(struct Slot) * kSlots) == 0) {
    void* p = mmap(NULL, sizeof(struct Slot) * kSlots, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p != MAP_FAILED) slots = p;
  }
  close(fd);
}

static int InLibpq(const void* caller) {
  const uintptr_t a = (uintptr_t)caller;
  for (int i = 0; i < libpq_range_count; ++i) {
    if (a >= libpq_ranges[i][0] && a < libpq_ranges[i][1]) return 1;
  }
  return 0;
}

static void Count(const void* caller) {
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
  __atomic_fetch_add(InLibpq(caller) ? &mine->libpq : &mine->own, 1, __ATOMIC_RELAXED);
}

#define CALLER __builtin_extract_return_addr(__builtin_return_address(0))

void* malloc(size_t n) {
  Count(CALLER);
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
  Count(CALLER);
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
  Count(CALLER);
  return __libc_realloc(p, n);
}
void* memalign(size_t align, size_t n) {
  Count(CALLER);
  return __libc_memalign(align, n);
}
void* aligned_alloc(size_t align, size_t n) {
  Count(CALLER);
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, size_t align, size_t n) {
  Count(CALLER);
  void* p = __libc_memalign(align, n);
  if (p == NULL) return 12; /* ENOMEM */
  *out = p;
  return 0;
}

// ReleaseStartupPages: clean read-only file mappings lose their resident
// pages (smaps Rss drops to 0) and read back the file's bytes; a writable
// private mapping and a read-only one holding a copy-on-write page keep
// their contents.
#include "app/startup_pages.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace pgdr::app {
namespace {

constexpr size_t kPages = 64;

// smaps "Rss:" kB of the mapping starting at `addr`.
uint64_t RssKb(const void* addr) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in = false;
  while (std::getline(smaps, line)) {
    uintptr_t begin = 0;
    uintptr_t end = 0;
    if (std::sscanf(line.c_str(), "%" SCNxPTR "-%" SCNxPTR, &begin, &end) == 2) {
      in = begin == reinterpret_cast<uintptr_t>(addr);
      continue;
    }
    uint64_t kb = 0;
    if (in && std::sscanf(line.c_str(), "Rss: %" SCNu64, &kb) == 1) return kb;
  }
  return 0;
}

class StartupPagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char path[] = "/tmp/pgdr-startup-pages-XXXXXX";
    fd_ = mkstemp(path);
    ASSERT_GE(fd_, 0);
    unlink(path);
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    std::vector<char> bytes(kPages * page_);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>('a' + i % 26);
    ASSERT_EQ(write(fd_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  void TearDown() override { close(fd_); }

  char* Map(int prot) {
    void* p = mmap(nullptr, kPages * page_, prot, MAP_PRIVATE, fd_, 0);
    EXPECT_NE(p, MAP_FAILED);
    return static_cast<char*>(p);
  }
  static long Touch(const char* p, size_t n) {
    long sum = 0;
    for (size_t i = 0; i < n; ++i) sum += *(static_cast<const volatile char*>(p) + i);
    return sum;
  }

  int fd_ = -1;
  size_t page_ = 4096;
};

TEST_F(StartupPagesTest, DropsCleanReadOnlyMappingsAndKeepsCopiedPages) {
  char* clean = Map(PROT_READ);
  char* writable = Map(PROT_READ | PROT_WRITE);
  char* relro = Map(PROT_READ | PROT_WRITE);
  const long want = Touch(clean, kPages * page_);
  writable[0] = 'W';  // a private copy, as .data or the heap
  relro[0] = 'R';     // a copy, then read-only: as RELRO after relocation
  ASSERT_EQ(mprotect(relro, kPages * page_, PROT_READ), 0);
  (void)Touch(relro, kPages * page_);
  ASSERT_GE(RssKb(clean), kPages * page_ / 1024 / 2);

  const ReleasedPages got = ReleaseStartupPages();
  EXPECT_GE(got.mappings, 1);
  EXPECT_LT(got.rss_file_after, got.rss_file_before);
  EXPECT_EQ(RssKb(clean), 0u);
  EXPECT_GT(RssKb(relro), 0u);
  EXPECT_EQ(Touch(clean, kPages * page_), want);  // the file's bytes come back
  EXPECT_EQ(writable[0], 'W');
  EXPECT_EQ(relro[0], 'R');
  EXPECT_EQ(relro[1], 'b');
  munmap(clean, kPages * page_);
  munmap(writable, kPages * page_);
  munmap(relro, kPages * page_);
}

TEST(DroppableMappingTest, OnlyPrivateReadOnlyFileMappingsWithoutCopies) {
  EXPECT_TRUE(DroppableMapping("r-xp", 42, 0));
  EXPECT_TRUE(DroppableMapping("r--p", 42, 0));
  EXPECT_FALSE(DroppableMapping("r--p", 42, 4));  // RELRO: relocated copies
  EXPECT_FALSE(DroppableMapping("rw-p", 42, 0));  // writable
  EXPECT_FALSE(DroppableMapping("r--s", 42, 0));  // shared
  EXPECT_FALSE(DroppableMapping("r-xp", 0, 0));   // anonymous, [vdso]
  EXPECT_FALSE(DroppableMapping("r-x", 42, 0));
}

}  // namespace
}  // namespace pgdr::app

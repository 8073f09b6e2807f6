#include "app/startup_pages.h"

#include <sys/mman.h>

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "pgdr/core/log.h"

namespace pgdr::app {
namespace {

struct Mapping {
  uintptr_t begin = 0;
  uintptr_t end = 0;
  bool droppable = false;
};

uint64_t RssFileBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    uint64_t kb = 0;
    if (std::sscanf(line.c_str(), "RssFile: %" SCNu64, &kb) == 1) return kb * 1024;
  }
  return 0;
}

// The mappings of /proc/self/smaps: a header line per mapping, then its
// fields; "Anonymous:" decides.
std::vector<Mapping> ReadMappings() {
  std::vector<Mapping> out;
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  char perms[8] = {};
  uint64_t inode = 0;
  while (std::getline(smaps, line)) {
    uintptr_t begin = 0;
    uintptr_t end = 0;
    uint64_t offset = 0;
    char dev[16] = {};
    if (std::sscanf(line.c_str(), "%" SCNxPTR "-%" SCNxPTR " %7s %" SCNx64 " %15s %" SCNu64, &begin,
                    &end, perms, &offset, dev, &inode) == 6) {
      out.push_back({begin, end, false});
      continue;
    }
    uint64_t anonymous_kb = 0;
    if (!out.empty() && std::sscanf(line.c_str(), "Anonymous: %" SCNu64, &anonymous_kb) == 1) {
      out.back().droppable = DroppableMapping(perms, inode, anonymous_kb);
    }
  }
  return out;
}

}  // namespace

bool DroppableMapping(std::string_view perms, uint64_t inode, uint64_t anonymous_kb) {
  return perms.size() == 4 && perms[1] == '-' && perms[3] == 'p' && inode != 0 && anonymous_kb == 0;
}

ReleasedPages ReleaseStartupPages() {
  ReleasedPages out;
  out.rss_file_before = RssFileBytes();
  for (const Mapping& m : ReadMappings()) {
    if (!m.droppable) continue;
    // NOLINTNEXTLINE(performance-no-int-to-ptr): the address smaps printed
    if (madvise(reinterpret_cast<void*>(m.begin), m.end - m.begin, MADV_DONTNEED) == 0) {
      ++out.mappings;
    }
  }
  out.rss_file_after = RssFileBytes();
  core::Log(core::LogLevel::kInfo, "released start-up pages",
            {{"mappings", std::to_string(out.mappings)},
             {"rss_file_before_bytes", std::to_string(out.rss_file_before)},
             {"rss_file_after_bytes", std::to_string(out.rss_file_after)}});
  return out;
}

}  // namespace pgdr::app

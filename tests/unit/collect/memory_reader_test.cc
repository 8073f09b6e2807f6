#include "collect/memory_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace pgdr::collect {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

TEST(MemoryReaderTest, SumsThePostmasterTreeFromAFakeProc) {
  const fs::path root = fs::temp_directory_path() / ("pgdr-proc-" + std::to_string(getpid()));
  // backend 30 -> postmaster 10 -> children 20, 30
  Write(root / "30/stat", "30 (postgres: x (y)) S 10 10 10 0");
  Write(root / "10/task/10/children", "20 30 ");
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  Write(root / "10/statm", "1000 100 50 1 0 10 0");
  Write(root / "20/statm", "1000 20 10 1 0 10 0");
  Write(root / "30/statm", "1000 30 10 1 0 10 0");
  Write(root / "10/smaps_rollup", "Rss: 400 kB\nPss: 300 kB\n");
  Write(root / "20/smaps_rollup", "Pss: 10 kB\n");
  Write(root / "30/smaps_rollup", "Pss: 20 kB\n");
  auto m = ReadPostmasterMemory(30, root.string());
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->processes, 3);
  EXPECT_EQ(m->rss_bytes, 150 * page);
  ASSERT_TRUE(m->pss_bytes.has_value());
  EXPECT_EQ(*m->pss_bytes, 330 * 1024);
  fs::remove(root / "20/smaps_rollup");
  EXPECT_FALSE(ReadPostmasterMemory(30, root.string())->pss_bytes.has_value());
  EXPECT_FALSE(ReadPostmasterMemory(99, root.string()).has_value());
  fs::remove_all(root);
}

TEST(MemoryReaderTest, CgroupMaxMeansNoLimit) {
  const fs::path dir = fs::temp_directory_path() / ("pgdr-cg-" + std::to_string(getpid()));
  Write(dir / "memory.current", "123456\n");
  Write(dir / "memory.max", "max\n");
  core::MetricSet out;
  AppendCgroupMemory(dir.string(), {{"member", "m"}}, out);
  EXPECT_EQ(out.families().at("pgdr_memory_cgroup_usage_bytes").metric[0].gauge.value, 123456);
  EXPECT_EQ(out.families().count("pgdr_memory_cgroup_limit_bytes"), 0u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pgdr::collect

#include "pgdr/config/read_pool_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "pgdr/config/byte_size.h"
#include "pgdr/config/config.h"

namespace pgdr::config {
namespace {

std::string WriteTemp(const std::string& text) {
  char path[] = "/tmp/pgdr-read-pool-test-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

std::string WithPool(const std::string& pool) {
  return "targets:\n"
         "  - {cluster: c, member: c-1, dsn: host=127.0.0.1 port=5432}\n"
         "pgbouncers:\n"
         "  - name: pooler\n"
         "    cluster: c\n"
         "    dsn: host=127.0.0.1 port=6432 dbname=pgbouncer\n"
         "    databases_file: /tmp/databases.ini\n"
         "    read_pool:\n" +
         pool;
}

TEST(ReadPoolConfigTest, ParsesEveryKey) {
  auto c =
      LoadConfig(WriteTemp(WithPool("      database: reads\n"
                                    "      max_lag_bytes: 16MB\n"
                                    "      max_lag_seconds: 10s\n"
                                    "      readmit_lag_bytes: 1MB\n"
                                    "      readmit_after: 30s\n"
                                    "      members: [c-2, c-3]\n"
                                    "      fallback: none\n")));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->pgbouncers.size(), 1u);
  ASSERT_TRUE(c->pgbouncers[0].read_pool.has_value());
  const ReadPoolConfig& p = *c->pgbouncers[0].read_pool;
  EXPECT_EQ(p.database, "reads");
  EXPECT_EQ(p.max_lag_bytes, 16.0 * 1024 * 1024);
  EXPECT_EQ(p.max_lag_seconds, 10.0);
  EXPECT_EQ(p.readmit_lag_bytes, 1024.0 * 1024);
  EXPECT_EQ(p.readmit_lag_seconds, 10.0);  // defaults to max_lag_seconds
  EXPECT_EQ(p.readmit_after.count(), 30000);
  EXPECT_EQ(p.members, (std::vector<std::string>{"c-2", "c-3"}));
  EXPECT_EQ(p.fallback, ReadPoolConfig::Fallback::kNone);
}

TEST(ReadPoolConfigTest, DefaultsAndPlainBytes) {
  auto c =
      LoadConfig(WriteTemp(WithPool("      database: reads\n"
                                    "      max_lag_bytes: 1048576\n")));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const ReadPoolConfig& p = *c->pgbouncers[0].read_pool;
  EXPECT_EQ(p.max_lag_bytes, 1048576.0);
  EXPECT_EQ(p.readmit_lag_bytes, 1048576.0);
  EXPECT_FALSE(p.max_lag_seconds.has_value());
  EXPECT_EQ(p.readmit_after.count(), 10000);
  EXPECT_TRUE(p.members.empty());
  EXPECT_EQ(p.fallback, ReadPoolConfig::Fallback::kPrimary);
}

TEST(ReadPoolConfigTest, ErrorsNameFileLineAndKey) {
  const auto error = [](const std::string& pool) {
    const std::string path = WriteTemp(WithPool(pool));
    auto c = LoadConfig(path);
    EXPECT_FALSE(c.ok()) << pool;
    std::string message = c.ok() ? "" : c.status().message();
    EXPECT_EQ(message.rfind(path + ":", 0), 0u) << message;
    return message;
  };
  EXPECT_NE(error("      database: reads\n").find("needs max_lag_bytes or max_lag_seconds"),
            std::string::npos);
  EXPECT_NE(error("      database: reads\n      max_lag_bytes: 10 parsecs\n").find(":10:"),
            std::string::npos);
  EXPECT_NE(error("      database: reads\n      max_lag_bytes: 1MB\n      readmit_lag_bytes: 2MB\n")
                .find("must not exceed max_lag_bytes"),
            std::string::npos);
  EXPECT_NE(error("      database: reads\n      max_lag_bytes: 1MB\n      fallback: random\n")
                .find("fallback"),
            std::string::npos);
  EXPECT_NE(
      error("      database: reads\n      max_lag_bytes: 1MB\n      lag: 1\n").find("unknown key"),
      std::string::npos);
}

TEST(ReadPoolConfigTest, NeedsTheClusterAndTheDatabasesFile) {
  const std::string path = WriteTemp(
      "targets:\n"
      "  - {cluster: c, member: c-1, dsn: host=127.0.0.1 port=5432}\n"
      "pgbouncers:\n"
      "  - name: pooler\n"
      "    dsn: host=127.0.0.1 port=6432 dbname=pgbouncer\n"
      "    read_pool: {database: reads, max_lag_bytes: 1MB}\n");
  auto c = LoadConfig(path);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("read_pool needs the pgbouncer's cluster and databases_file"),
            std::string::npos)
      << c.status().message();
}

TEST(ReadPoolConfigTest, ByteSizes) {
  EXPECT_EQ(*ParseByteSize("512kB"), 512.0 * 1024);
  EXPECT_EQ(*ParseByteSize("2GB"), 2.0 * 1024 * 1024 * 1024);
  EXPECT_EQ(*ParseByteSize("7B"), 7.0);
  EXPECT_FALSE(ParseByteSize("-1MB").ok());
  EXPECT_FALSE(ParseByteSize("1 MB").ok());
  EXPECT_FALSE(ParseByteSize("").ok());
}

}  // namespace
}  // namespace pgdr::config

// Sharding: ShardOf is Prometheus's hashmod of the cluster name (expected
// values from Python's hashlib.md5: int.from_bytes(digest[8:], "big") % n),
// and KeepShard moves whole clusters: members, poolers, stores together.
#include "app/sharding.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "app/validated_config.h"

namespace pgdr::app {
namespace {

TEST(ShardOfTest, IsPrometheusHashmodOfTheName) {
  EXPECT_EQ(ShardOf("demo", 3), 2u);
  EXPECT_EQ(ShardOf("demo", 7), 1u);
  EXPECT_EQ(ShardOf("c00", 3), 1u);
  EXPECT_EQ(ShardOf("c00", 7), 4u);
  EXPECT_EQ(ShardOf("eu-main", 3), 0u);
  EXPECT_EQ(ShardOf("eu-main", 7), 6u);
  EXPECT_EQ(ShardOf("eu-main", 1), 0u);
  EXPECT_EQ(ShardOf("eu-main", 4197835401829494775ULL), 4197835401829494774ULL);
}

TEST(KeepShardTest, KeepsWholeClustersWithNoOverlapAndNoGap) {
  char dir[] = "/tmp/pgdr-sharding-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/pgdr.yml";
  {
    std::ofstream f(path);
    f << "targets:\n";
    for (int i = 0; i < 30; ++i) {
      for (int m = 1; m <= 2; ++m) {
        f << "  - {cluster: c" << i << ", member: m" << m << ", dsn: 'host=127.0.0.1 port=5001'}\n";
      }
    }
    f << "pgbouncers:\n"
         "  - {name: pb-c4, cluster: c4, dsn: 'host=127.0.0.1 port=6432 dbname=pgbouncer'}\n"
         "  - {name: pb-any, dsn: 'host=127.0.0.1 port=6433 dbname=pgbouncer'}\n"
         "backup_stores:\n"
         "  - {name: s-c4, cluster: c4, layout: barman-cloud, url: 'file://"
      << dir << "'}\n";
  }
  std::map<std::string, int> owners;
  for (uint64_t index = 0; index < 3; ++index) {
    auto v = LoadAndValidate(path);
    ASSERT_TRUE(v.ok()) << v.status().message();
    const std::string line = KeepShard(*v, Shard{index, 3});
    std::set<std::string> clusters;
    for (const auto& t : v->config.targets) {
      EXPECT_EQ(ShardOf(t.cluster, 3), index) << t.Key();
      clusters.insert(t.cluster);
    }
    EXPECT_EQ(v->config.targets.size(), 2 * clusters.size()) << "both members of each cluster";
    EXPECT_EQ(line, "shard " + std::to_string(index) + "/3: " + std::to_string(clusters.size()) +
                        " of 30 clusters");
    for (const auto& c : clusters) owners[c] += 1;
    const bool has_c4 = clusters.count("c4") == 1;
    EXPECT_EQ(v->stores.size(), has_c4 ? 1u : 0u);
    EXPECT_EQ(v->monitors.size(), v->stores.size());
    size_t poolers = (has_c4 ? 1 : 0) + (index == 0 ? 1 : 0);
    EXPECT_EQ(v->config.pgbouncers.size(), poolers);
  }
  EXPECT_EQ(owners.size(), 30u);
  for (const auto& [cluster, n] : owners) EXPECT_EQ(n, 1) << cluster;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pgdr::app

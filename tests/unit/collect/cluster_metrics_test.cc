#include <gtest/gtest.h>

#include "pgdr/collect/snapshot.h"

namespace pgdr::collect {
namespace {

// Every member below is of this cluster.
const std::string kCluster = "c";

std::shared_ptr<const TargetResult> Member(const std::string& name, bool replica, double lsn,
                                           std::optional<double> replay_ts = std::nullopt) {
  auto t = std::make_shared<TargetResult>();
  t->key = kCluster + "/" + name;
  t->cluster = kCluster;
  t->member = name;
  t->labels = {{"cluster", kCluster}, {"member", name}};
  t->facts.up = true;
  t->facts.in_recovery = replica;
  t->facts.lsn_bytes = lsn;
  t->facts.server_time_seconds = 1000;
  t->facts.last_replay_timestamp_seconds = replay_ts;
  t->facts.wal_receiver_streaming = replica;
  return t;
}

double Value(const core::MetricSet& m, const std::string& name, const std::string& label,
             const std::string& value) {
  for (const auto& metric : m.families().at(name).metric) {
    for (const auto& l : metric.label) {
      if (l.name == label && l.value == value) return metric.gauge.value;
    }
  }
  ADD_FAILURE() << name << "{" << label << "=" << value << "} missing";
  return -1;
}

TEST(ClusterMetricsTest, LagAgainstThePrimaryAndReplicaRpo) {
  SnapshotInputs in;
  in.now = std::chrono::system_clock::time_point(std::chrono::seconds(1000));
  in.targets["c/p"] = Member("p", false, 5000);
  in.targets["c/r1"] = Member("r1", true, 5000, 100);
  in.targets["c/r2"] = Member("r2", true, 3000, 940);
  core::MetricSet out;
  AppendClusterMetrics(in, out);
  EXPECT_EQ(Value(out, "pgdr_replication_lag_bytes", "member", "r1"), 0);
  EXPECT_EQ(Value(out, "pgdr_replication_lag_seconds", "member", "r1"), 0);  // idle, caught up
  EXPECT_EQ(Value(out, "pgdr_replication_lag_bytes", "member", "r2"), 2000);
  EXPECT_EQ(Value(out, "pgdr_replication_lag_seconds", "member", "r2"), 60);
  EXPECT_EQ(Value(out, "pgdr_rpo_bytes", "scope", "replica"), 0);
  EXPECT_EQ(Value(out, "pgdr_cluster_primaries", "cluster", "c"), 1);
  EXPECT_EQ(Value(out, "pgdr_cluster_replicas", "cluster", "c"), 2);
}

TEST(ClusterMetricsTest, ArchiveRpoFromTheNewestArchivedSegment) {
  SnapshotInputs in;
  in.now = std::chrono::system_clock::time_point(std::chrono::seconds(1000));
  in.targets["c/p"] = Member("p", false, 3 * 16777216.0 + 500);
  in.archives.push_back({"c", "s3", true, 3 * 16777216.0, 970});
  in.archives.push_back({"c", "old", true, 1 * 16777216.0, 10});
  core::MetricSet out;
  AppendClusterMetrics(in, out);
  EXPECT_EQ(Value(out, "pgdr_rpo_bytes", "scope", "archive"), 500);
  EXPECT_EQ(Value(out, "pgdr_rpo_seconds", "scope", "archive"), 30);
}

TEST(ClusterMetricsTest, NoPrimaryMeansNoCrossMemberLag) {
  SnapshotInputs in;
  in.targets["c/r1"] = Member("r1", true, 5000, 100);
  core::MetricSet out;
  AppendClusterMetrics(in, out);
  EXPECT_EQ(out.families().count("pgdr_replication_lag_bytes"), 0u);
  EXPECT_EQ(Value(out, "pgdr_cluster_primaries", "cluster", "c"), 0);
}

}  // namespace
}  // namespace pgdr::collect

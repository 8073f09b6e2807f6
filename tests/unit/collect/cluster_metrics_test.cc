#include <gtest/gtest.h>

#include <algorithm>

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

// The sample of `name` whose labels include every one of `match`.
std::optional<double> Find(const core::MetricSet& m, const std::string& name,
                           const core::Labels& match) {
  const auto family = m.families().find(name);
  if (family == m.families().end()) return std::nullopt;
  for (const auto& metric : family->second.metric) {
    const bool all = std::all_of(match.begin(), match.end(), [&](const core::Label& want) {
      return std::any_of(metric.label.begin(), metric.label.end(), [&](const core::Label& l) {
        return l.name == want.name && l.value == want.value;
      });
    });
    if (all) return metric.gauge.value;
  }
  return std::nullopt;
}

double Value(const core::MetricSet& m, const std::string& name, const std::string& label,
             const std::string& value) {
  const auto v = Find(m, name, {{label, value}});
  if (!v) ADD_FAILURE() << name << "{" << label << "=" << value << "} missing";
  return v.value_or(-1);
}

std::chrono::system_clock::time_point At(int seconds) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
}

// A member whose last cycle found it down.
std::shared_ptr<const TargetResult> Dead(const std::string& name) {
  auto t = std::make_shared<TargetResult>();
  t->key = kCluster + "/" + name;
  t->cluster = kCluster;
  t->member = name;
  t->labels = {{"cluster", kCluster}, {"member", name}};
  return t;
}

// A replica whose WAL receiver lost its primary, with replay and receive LSN.
std::shared_ptr<const TargetResult> Orphan(const std::string& name, double replay, double receive,
                                           double replay_ts) {
  auto t = std::make_shared<TargetResult>(*Member(name, true, replay, replay_ts));
  t->facts.receive_lsn_bytes = receive;
  t->facts.wal_receiver_streaming = false;
  return t;
}

TEST(ClusterMetricsTest, LagAgainstThePrimaryAndReplicaRpo) {
  SnapshotInputs in;
  in.now = std::chrono::system_clock::time_point(std::chrono::seconds(1000));
  in.targets["c/p"] = Member("p", false, 5000);
  in.targets["c/r1"] = Member("r1", true, 5000, 100);
  in.targets["c/r2"] = Member("r2", true, 3000, 940);
  core::MetricSet out;
  PrimaryPositions primaries;
  AppendClusterMetrics(in, primaries, out);
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
  PrimaryPositions primaries;
  AppendClusterMetrics(in, primaries, out);
  EXPECT_EQ(Value(out, "pgdr_rpo_bytes", "scope", "archive"), 500);
  EXPECT_EQ(Value(out, "pgdr_rpo_seconds", "scope", "archive"), 30);
}

TEST(ClusterMetricsTest, NoPrimaryMeansNoCrossMemberLag) {
  SnapshotInputs in;
  in.targets["c/r1"] = Member("r1", true, 5000, 100);
  core::MetricSet out;
  PrimaryPositions primaries;
  AppendClusterMetrics(in, primaries, out);
  EXPECT_EQ(out.families().count("pgdr_replication_lag_bytes"), 0u);
  EXPECT_EQ(Value(out, "pgdr_cluster_primaries", "cluster", "c"), 0);
}

TEST(ClusterMetricsTest, FiguresOutliveThePrimaryFromItsLastSeenPosition) {
  PrimaryPositions primaries;
  SnapshotInputs in;
  in.now = At(1000);
  auto primary = std::make_shared<TargetResult>(*Member("p", false, 9000));
  primary->collected_at = At(990);
  in.targets["c/p"] = primary;
  in.targets["c/r1"] = Member("r1", true, 8000, 980);
  in.targets["c/r2"] = Member("r2", true, 5000, 900);
  in.archives.push_back({"c", "s3", true, 6000, 950});
  core::MetricSet live;
  AppendClusterMetrics(in, primaries, live);
  EXPECT_EQ(Find(live, "pgdr_rpo_bytes", {{"scope", "replica"}}), 1000);
  EXPECT_EQ(Find(live, "pgdr_rpo_basis", {{"scope", "replica"}, {"basis", "live"}}), 1);
  EXPECT_EQ(Find(live, "pgdr_rpo_basis", {{"scope", "archive"}, {"basis", "last_known"}}), 0);

  // The primary dies; r1 received more than it replayed, r2 lost its stream.
  in.now = At(1100);
  in.targets["c/p"] = Dead("p");
  in.targets["c/r1"] = Orphan("r1", 8000, 8500, 980);
  in.targets["c/r2"] = Orphan("r2", 5000, 5000, 900);
  core::MetricSet out;
  AppendClusterMetrics(in, primaries, out);
  EXPECT_EQ(Find(out, "pgdr_primary_last_seen_timestamp_seconds", {{"cluster", "c"}}), 990);
  EXPECT_EQ(Find(out, "pgdr_primary_last_seen_lsn_bytes", {{"cluster", "c"}}), 9000);
  EXPECT_EQ(Value(out, "pgdr_replication_lag_bytes", "member", "r1"), 1000);
  EXPECT_EQ(Value(out, "pgdr_replication_lag_bytes", "member", "r2"), 4000);
  // A promotion of r1 replays what it received: 9000 - 8500 is lost, and
  // the commits from its last replayed one (980) to the primary's last sight (990).
  EXPECT_EQ(Find(out, "pgdr_rpo_bytes", {{"scope", "replica"}}), 500);
  EXPECT_EQ(Find(out, "pgdr_rpo_seconds", {{"scope", "replica"}}), 10);
  EXPECT_EQ(Find(out, "pgdr_rpo_bytes", {{"scope", "archive"}}), 3000);
  EXPECT_EQ(Find(out, "pgdr_rpo_seconds", {{"scope", "archive"}}),
            40);  // 990 - 950, not 1100 - 950
  for (const char* scope : {"replica", "archive"}) {
    EXPECT_EQ(Find(out, "pgdr_rpo_basis", {{"scope", scope}, {"basis", "last_known"}}), 1);
    EXPECT_EQ(Find(out, "pgdr_rpo_basis", {{"scope", scope}, {"basis", "live"}}), 0);
  }
  ASSERT_EQ(primaries.count("c"), 1u);
  EXPECT_FALSE(primaries.at("c").live);

  // r1 is promoted: its position takes over, although behind the old one.
  auto promoted = std::make_shared<TargetResult>(*Member("r1", false, 8600));
  promoted->collected_at = At(1200);
  in.targets["c/r1"] = promoted;
  core::MetricSet after;
  AppendClusterMetrics(in, primaries, after);
  EXPECT_EQ(primaries.at("c").member, "r1");
  EXPECT_TRUE(primaries.at("c").live);
  EXPECT_EQ(Value(after, "pgdr_replication_lag_bytes", "member", "r2"), 3600);
  EXPECT_EQ(Find(after, "pgdr_primary_last_seen_lsn_bytes", {{"cluster", "c"}}), 8600);
  EXPECT_EQ(Find(after, "pgdr_rpo_basis", {{"scope", "archive"}, {"basis", "live"}}), 1);
  EXPECT_EQ(Find(after, "pgdr_rpo_bytes", {{"scope", "archive"}}), 2600);
  // r2, the only replica left, streams from nobody: promoting it would lose 3600.
  EXPECT_EQ(Find(after, "pgdr_rpo_bytes", {{"scope", "replica"}}), 3600);
  EXPECT_EQ(Find(after, "pgdr_rpo_basis", {{"scope", "replica"}, {"basis", "live"}}), 1);
}

TEST(ClusterMetricsTest, ClustersWithoutTargetsAreForgotten) {
  PrimaryPositions primaries;
  SnapshotInputs in;
  in.targets["c/p"] = Member("p", false, 9000);
  core::MetricSet out;
  AppendClusterMetrics(in, primaries, out);
  ASSERT_EQ(primaries.count("c"), 1u);
  in.targets.clear();  // a reload removed the cluster
  core::MetricSet none;
  AppendClusterMetrics(in, primaries, none);
  EXPECT_TRUE(primaries.empty());
  EXPECT_EQ(none.families().count("pgdr_primary_last_seen_lsn_bytes"), 0u);
}

}  // namespace
}  // namespace pgdr::collect

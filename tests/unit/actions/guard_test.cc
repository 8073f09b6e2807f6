// Failover guards on synthetic snapshots: each guard of DESIGN.md §6 refuses
// on its own, and the promotion happens only when all pass.
#include <gtest/gtest.h>

#include "pgdr/actions/failover.h"

namespace pgdr::actions {
namespace {

using std::chrono::seconds;

const TimePoint kT0 = Clock::from_time_t(1'800'000'000);

MemberView Primary(std::string name, double lsn) {
  MemberView m;
  m.member = std::move(name);
  m.address = "127.0.0.1:" + std::to_string(5000 + m.member.back());
  m.up = true;
  m.in_recovery = false;
  m.lsn_bytes = lsn;
  return m;
}

MemberView Replica(std::string name, double lsn, bool streaming, std::string sender = "") {
  MemberView m;
  m.member = std::move(name);
  m.address = "127.0.0.1:" + std::to_string(5000 + m.member.back());
  m.up = true;
  m.in_recovery = true;
  m.lsn_bytes = lsn;
  m.receive_lsn_bytes = lsn;
  m.streaming = streaming;
  if (streaming) m.sender = sender.empty() ? "127.0.0.1:5049" : sender;  // member "1"
  return m;
}

MemberView Down(std::string name) {
  MemberView m;
  m.member = std::move(name);
  m.address = "127.0.0.1:" + std::to_string(5000 + m.member.back());
  return m;
}

FailoverPolicy Policy() {
  FailoverPolicy p;
  p.confirm_for = seconds(10);
  p.max_lag_bytes = 1000;
  p.cooldown = seconds(600);
  return p;
}

// The snapshot's position of primary "1": live at kT0, then remembered.
const collect::PrimaryPosition kLive{"1", 10'000, kT0, true, ""};
const collect::PrimaryPosition kLastSeen{"1", 10'000, kT0, false, ""};

// Healthy cluster at kT0 (the tracker learns the primary's LSN), then the
// given members from kT0+1s on, observed until `until`.
ClusterTracker Track(const std::vector<MemberView>& after, TimePoint until) {
  ClusterTracker t;
  t.Observe({Primary("1", 10'000), Replica("2", 9'900, true), Replica("3", 9'500, true)}, &kLive,
            kT0);
  for (TimePoint at = kT0 + seconds(1); at <= until; at += seconds(1)) {
    t.Observe(after, &kLastSeen, at);
  }
  return t;
}

TEST(FailoverGuard, NodeFailurePromotesMostAdvancedReplica) {
  const std::vector<MemberView> m = {Down("1"), Replica("2", 9'900, false),
                                     Replica("3", 9'500, false)};
  const auto t = Track(m, kT0 + seconds(20));
  const auto d = DecideFailover(m, t, Policy(), false, kT0 + seconds(20));
  EXPECT_TRUE(d.promote) << d.reason << ": " << d.detail;
  EXPECT_EQ(d.reason, "guards_passed");
  EXPECT_EQ(d.candidate, "2");
  EXPECT_EQ(d.old_primary, "1");
  EXPECT_DOUBLE_EQ(d.lag_bytes, 100);
}

TEST(FailoverGuard, ReceivedWalCountsForTheChoice) {
  auto r2 = Replica("2", 9'900, false);
  auto r3 = Replica("3", 9'800, false);
  r3.receive_lsn_bytes = 10'000;  // the synchronous standby: received more, replay behind
  const std::vector<MemberView> m = {Down("1"), r2, r3};
  const auto t = Track(m, kT0 + seconds(20));
  const auto d = DecideFailover(m, t, Policy(), false, kT0 + seconds(20));
  ASSERT_TRUE(d.promote);
  EXPECT_EQ(d.candidate, "3");
  EXPECT_DOUBLE_EQ(d.lag_bytes, 0);
}

TEST(FailoverGuard, PartitionFromExporterOnlyNeverPromotes) {
  // The exporter cannot reach the primary, but the replicas still stream from it.
  const std::vector<MemberView> m = {Down("1"), Replica("2", 9'900, true),
                                     Replica("3", 9'500, true)};
  const auto t = Track(m, kT0 + seconds(120));
  const auto d = DecideFailover(m, t, Policy(), false, kT0 + seconds(120));
  EXPECT_FALSE(d.promote);
  EXPECT_EQ(d.reason, "replica_streaming");
}

TEST(FailoverGuard, OneReplicaStillStreamingRefuses) {
  const std::vector<MemberView> m = {Down("1"), Replica("2", 9'900, false),
                                     Replica("3", 9'500, true)};
  const auto t = Track(m, kT0 + seconds(60));
  EXPECT_EQ(DecideFailover(m, t, Policy(), false, kT0 + seconds(60)).reason, "replica_streaming");
}

TEST(FailoverGuard, CascadingReplicaCountsAsHavingLostThePrimary) {
  // Member 3 streams from replica 2 (address 127.0.0.1:5050).
  const std::vector<MemberView> m = {Down("1"), Replica("2", 9'900, false),
                                     Replica("3", 9'500, true, "127.0.0.1:5050")};
  const auto t = Track(m, kT0 + seconds(20));
  const auto d = DecideFailover(m, t, Policy(), false, kT0 + seconds(20));
  EXPECT_TRUE(d.promote) << d.reason;
  EXPECT_EQ(d.candidate, "2");
}

TEST(FailoverGuard, LossMustBeConfirmedContinuously) {
  const std::vector<MemberView> lost = {Down("1"), Replica("2", 9'900, false),
                                        Replica("3", 9'500, false)};
  auto t = Track(lost, kT0 + seconds(5));
  EXPECT_EQ(DecideFailover(lost, t, Policy(), false, kT0 + seconds(5)).reason, "not_confirmed");
  // A blip where a replica streams again restarts the clock.
  t.Observe({Down("1"), Replica("2", 9'900, true), Replica("3", 9'500, false)}, &kLastSeen,
            kT0 + seconds(6));
  for (int s = 7; s <= 14; ++s) t.Observe(lost, &kLastSeen, kT0 + seconds(s));
  EXPECT_EQ(DecideFailover(lost, t, Policy(), false, kT0 + seconds(14)).reason, "not_confirmed");
  for (int s = 15; s <= 17; ++s) t.Observe(lost, &kLastSeen, kT0 + seconds(s));
  EXPECT_TRUE(DecideFailover(lost, t, Policy(), false, kT0 + seconds(17)).promote);
}

TEST(FailoverGuard, ReachablePrimaryRefuses) {
  const std::vector<MemberView> m = {Primary("1", 10'000), Replica("2", 9'900, false),
                                     Replica("3", 9'500, false)};
  const auto t = Track(m, kT0 + seconds(30));
  const auto d = DecideFailover(m, t, Policy(), false, kT0 + seconds(30));
  EXPECT_FALSE(d.promote);
  EXPECT_EQ(d.reason, "primary_reachable");
}

TEST(FailoverGuard, SplitBrainRefuses) {
  const std::vector<MemberView> m = {Primary("1", 10'000), Primary("2", 9'900),
                                     Replica("3", 9'500, false)};
  const auto t = Track(m, kT0 + seconds(30));
  const auto d = DecideFailover(m, t, Policy(), false, kT0 + seconds(30));
  EXPECT_FALSE(d.promote);
  EXPECT_EQ(d.reason, "split_brain");
}

TEST(FailoverGuard, LagOverMaximumRefuses) {
  const std::vector<MemberView> m = {Down("1"), Replica("2", 5'000, false),
                                     Replica("3", 4'000, false)};
  const auto t = Track(m, kT0 + seconds(20));
  const auto d = DecideFailover(m, t, Policy(), false, kT0 + seconds(20));
  EXPECT_FALSE(d.promote);
  EXPECT_EQ(d.reason, "lag_exceeded");
  EXPECT_EQ(d.candidate, "2");
  EXPECT_DOUBLE_EQ(d.lag_bytes, 5'000);
}

TEST(FailoverGuard, CooldownRefusesASecondFailover) {
  const std::vector<MemberView> m = {Down("1"), Replica("2", 9'900, false),
                                     Replica("3", 9'500, false)};
  auto t = Track(m, kT0 + seconds(20));
  t.last_failover = kT0 + seconds(15);
  EXPECT_EQ(DecideFailover(m, t, Policy(), false, kT0 + seconds(20)).reason, "cooldown");
  EXPECT_TRUE(DecideFailover(m, t, Policy(), false, kT0 + seconds(616)).promote);
}

TEST(FailoverGuard, MaintenanceWindowRefuses) {
  const std::vector<MemberView> m = {Down("1"), Replica("2", 9'900, false),
                                     Replica("3", 9'500, false)};
  const auto t = Track(m, kT0 + seconds(20));
  EXPECT_EQ(DecideFailover(m, t, Policy(), true, kT0 + seconds(20)).reason, "maintenance");
}

TEST(FailoverGuard, NoReachableReplicaRefuses) {
  const std::vector<MemberView> m = {Down("1"), Down("2"), Down("3")};
  const auto t = Track(m, kT0 + seconds(20));
  EXPECT_EQ(DecideFailover(m, t, Policy(), false, kT0 + seconds(20)).reason, "no_replica");
}

TEST(FailoverGuard, UnknownPrimaryLsnRefuses) {
  const std::vector<MemberView> m = {Down("1"), Replica("2", 9'900, false)};
  ClusterTracker t;  // the exporter started after the primary died
  for (int s = 0; s <= 20; ++s) t.Observe(m, nullptr, kT0 + seconds(s));
  EXPECT_EQ(DecideFailover(m, t, Policy(), false, kT0 + seconds(20)).reason, "unknown_primary_lsn");
}

TEST(FailoverGuard, NoWalReceiverCountsAsLost) {
  // An up replica without a pg_stat_wal_receiver row has no receiver at all.
  auto r = Replica("2", 9'900, false);
  r.streaming.reset();
  const std::vector<MemberView> m = {Down("1"), r};
  const auto t = Track(m, kT0 + seconds(20));
  EXPECT_TRUE(DecideFailover(m, t, Policy(), false, kT0 + seconds(20)).promote);
}

TEST(FailoverGuard, ClusterMembersFromSnapshot) {
  collect::Snapshot s;
  auto a = std::make_shared<collect::TargetResult>();
  a->cluster = "prod";
  a->member = "a";
  a->facts.up = true;
  a->facts.in_recovery = true;
  a->facts.wal_receiver_streaming = false;
  auto b = std::make_shared<collect::TargetResult>();
  b->cluster = "other";
  b->member = "b";
  s.targets = {a, b};
  const auto m = ClusterMembers(s, "prod", {{"a", "h:1"}});
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].address, "h:1");
  EXPECT_EQ(m[0].streaming, false);
}

TEST(FailoverGuard, DsnAddress) {
  EXPECT_EQ(DsnAddress("host=127.0.0.1 port=5433 user=postgres"), "127.0.0.1:5433");
  EXPECT_EQ(DsnAddress("postgresql://db.example:6000/postgres"), "db.example:6000");
  EXPECT_EQ(DsnAddress("host=a"), "a:5432");
  EXPECT_EQ(DsnAddress("host=a,b"), "");
}

// Patroni answering and not paused owns the failover; paused or unreachable
// it leaves the cluster to pgdr's guards; before its first poll pgdr waits.
TEST(FailoverGuard, PatroniHealthyAndNotPausedManagesTheCluster) {
  const std::vector<MemberView> m = {Down("1"), Replica("2", 9'900, false),
                                     Replica("3", 9'500, false)};
  const auto t = Track(m, kT0 + seconds(20));
  collect::ManagerState patroni;
  patroni.manager = "patroni";
  patroni.polled = true;
  patroni.answered = true;
  auto d = DecideFailover(m, t, Policy(), false, kT0 + seconds(20), &patroni);
  EXPECT_FALSE(d.promote);
  EXPECT_EQ(d.reason, "patroni_manages");
  EXPECT_NE(d.detail.find("an election is in progress"), std::string::npos) << d.detail;
  patroni.leader = "1";
  d = DecideFailover(m, t, Policy(), false, kT0 + seconds(20), &patroni);
  EXPECT_EQ(d.reason, "patroni_manages");
  EXPECT_NE(d.detail.find("leader 1"), std::string::npos) << d.detail;

  patroni.paused = true;
  d = DecideFailover(m, t, Policy(), false, kT0 + seconds(20), &patroni);
  EXPECT_TRUE(d.promote) << d.reason;
  EXPECT_EQ(d.candidate, "2");
  patroni.paused = false;
  patroni.answered = false;  // no member API answered /cluster
  EXPECT_TRUE(DecideFailover(m, t, Policy(), false, kT0 + seconds(20), &patroni).promote);
  patroni.polled = false;
  EXPECT_EQ(DecideFailover(m, t, Policy(), false, kT0 + seconds(20), &patroni).reason,
            "patroni_unknown");
  // A reachable primary is still named as such, whoever manages the cluster.
  patroni.polled = true;
  patroni.answered = true;
  const std::vector<MemberView> healthy = {Primary("1", 10'000), Replica("2", 9'900, true)};
  EXPECT_EQ(DecideFailover(healthy, Track(healthy, kT0 + seconds(5)), Policy(), false,
                           kT0 + seconds(5), &patroni)
                .reason,
            "primary_reachable");
}

}  // namespace
}  // namespace pgdr::actions

#include "pgdr/collect/member_health.h"

#include <gtest/gtest.h>

namespace pgdr::collect {
namespace {

constexpr double kMB = 1024.0 * 1024;

std::shared_ptr<const TargetResult> Member(const std::string& name, bool up,
                                           std::optional<bool> replica, double lsn,
                                           std::optional<double> replay_ts = std::nullopt) {
  auto t = std::make_shared<TargetResult>();
  t->key = "c/" + name;
  t->cluster = "c";
  t->member = name;
  t->labels = {{"cluster", "c"}, {"member", name}};
  t->facts.up = up;
  t->facts.in_recovery = replica;
  t->facts.lsn_bytes = lsn;
  t->facts.server_time_seconds = 1000;
  t->facts.last_replay_timestamp_seconds = replay_ts;
  return t;
}

std::map<std::string, MemberHealth> Health(const SnapshotInputs& in) {
  std::map<std::string, MemberHealth> out;
  for (auto& m : MembersHealth(*ComposeSnapshot(in))) out[m.member] = m;
  return out;
}

LagBound Bound(std::string_view text) {
  auto b = ParseLagBound(text);
  EXPECT_TRUE(b.ok()) << text;
  return b.ok() ? *b : LagBound{};
}

TEST(MemberHealthTest, RolesAndLagComeFromTheSnapshotsClusterMetrics) {
  SnapshotInputs in;
  in.targets["c/p"] = Member("p", true, false, 100 * kMB);
  in.targets["c/fresh"] = Member("fresh", true, true, 100 * kMB);
  in.targets["c/behind"] = Member("behind", true, true, 80 * kMB, 993);
  in.targets["c/down"] = Member("down", false, std::nullopt, 0);
  auto h = Health(in);
  ASSERT_EQ(h.size(), 4u);
  EXPECT_EQ(h["p"].role, MemberRole::kPrimary);
  EXPECT_TRUE(h["p"].cluster_primary);
  EXPECT_FALSE(h["p"].lag_bytes.has_value());
  EXPECT_EQ(h["fresh"].role, MemberRole::kReplica);
  EXPECT_EQ(h["fresh"].lag_bytes, 0.0);
  EXPECT_EQ(h["fresh"].lag_seconds, 0.0);
  EXPECT_EQ(h["behind"].lag_bytes, 20 * kMB);
  EXPECT_EQ(h["behind"].lag_seconds, 7.0);
  EXPECT_FALSE(h["down"].up);
  EXPECT_EQ(h["down"].role, MemberRole::kUnknown);
}

TEST(MemberHealthTest, ChecksFollowPatroni) {
  SnapshotInputs in;
  in.targets["c/p"] = Member("p", true, false, 100 * kMB);
  in.targets["c/fresh"] = Member("fresh", true, true, 100 * kMB);
  in.targets["c/behind"] = Member("behind", true, true, 80 * kMB, 993);
  in.targets["c/down"] = Member("down", false, std::nullopt, 0);
  auto h = Health(in);
  const LagBound none;
  EXPECT_TRUE(Passes(h["p"], HealthCheck::kPrimary, none));
  EXPECT_FALSE(Passes(h["p"], HealthCheck::kReplica, none));
  EXPECT_TRUE(Passes(h["p"], HealthCheck::kReadOnly, Bound("1B")));
  EXPECT_FALSE(Passes(h["fresh"], HealthCheck::kPrimary, none));
  EXPECT_TRUE(Passes(h["fresh"], HealthCheck::kReplica, Bound("1kB")));
  EXPECT_TRUE(Passes(h["behind"], HealthCheck::kReplica, none));
  EXPECT_TRUE(Passes(h["behind"], HealthCheck::kReplica, Bound("20MB")));
  EXPECT_FALSE(Passes(h["behind"], HealthCheck::kReplica, Bound("10MB")));
  EXPECT_FALSE(Passes(h["behind"], HealthCheck::kReadOnly, Bound("10MB")));
  EXPECT_TRUE(Passes(h["behind"], HealthCheck::kReplica, Bound("7s")));
  EXPECT_FALSE(Passes(h["behind"], HealthCheck::kReplica, Bound("6500ms")));
  for (auto check : {HealthCheck::kPrimary, HealthCheck::kReplica, HealthCheck::kReadOnly,
                     HealthCheck::kHealth}) {
    EXPECT_FALSE(Passes(h["down"], check, none));
  }
  EXPECT_TRUE(Passes(h["behind"], HealthCheck::kHealth, none));
}

TEST(MemberHealthTest, OnlyTheMostAdvancedOfTwoPrimariesPassesPrimary) {
  SnapshotInputs in;
  in.targets["c/a"] = Member("a", true, false, 100 * kMB);
  in.targets["c/b"] = Member("b", true, false, 90 * kMB);
  auto h = Health(in);
  EXPECT_TRUE(Passes(h["a"], HealthCheck::kPrimary, {}));
  EXPECT_FALSE(Passes(h["b"], HealthCheck::kPrimary, {}));
  EXPECT_TRUE(Passes(h["b"], HealthCheck::kHealth, {}));
}

TEST(MemberHealthTest, AReplicaWhoseLagIsUnknownFailsABoundedCheck) {
  SnapshotInputs in;  // no primary was ever seen: no lag in bytes
  in.targets["c/r"] = Member("r", true, true, 10 * kMB, 990);
  auto h = Health(in);
  EXPECT_FALSE(h["r"].lag_bytes.has_value());
  EXPECT_TRUE(Passes(h["r"], HealthCheck::kReplica, {}));
  EXPECT_FALSE(Passes(h["r"], HealthCheck::kReplica, Bound("10MB")));
}

TEST(MemberHealthTest, ParsesLagBounds) {
  EXPECT_EQ(Bound("1048576").bytes, kMB);
  EXPECT_EQ(Bound("10MB").bytes, 10 * kMB);
  EXPECT_EQ(Bound("512kB").bytes, 512 * 1024.0);
  EXPECT_EQ(Bound("1GB").bytes, 1024 * kMB);
  EXPECT_EQ(Bound("5s").seconds, 5.0);
  EXPECT_EQ(Bound("1m30s").seconds, 90.0);
  EXPECT_EQ(Bound("250ms").seconds, 0.25);
  EXPECT_FALSE(Bound("").bytes.has_value());
  EXPECT_FALSE(Bound("").seconds.has_value());
  EXPECT_FALSE(ParseLagBound("10 parsecs").ok());
  EXPECT_FALSE(ParseLagBound("-5MB").ok());
}

TEST(MemberHealthTest, ParsesCheckNames) {
  EXPECT_EQ(ParseHealthCheck("read-only"), HealthCheck::kReadOnly);
  EXPECT_EQ(ParseHealthCheck("master"), std::nullopt);
}

}  // namespace
}  // namespace pgdr::collect

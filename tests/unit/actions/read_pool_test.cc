#include "pgdr/actions/read_pool.h"

#include <gtest/gtest.h>

namespace pgdr::actions {
namespace {

using collect::MemberHealth;
using collect::MemberRole;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr double kMB = 1024.0 * 1024;

MemberHealth Primary(const std::string& name) {
  MemberHealth m;
  m.cluster = "c";
  m.member = name;
  m.up = true;
  m.role = MemberRole::kPrimary;
  m.cluster_primary = true;
  return m;
}

MemberHealth Replica(const std::string& name, double lag_bytes, double lag_seconds = 0) {
  MemberHealth m;
  m.cluster = "c";
  m.member = name;
  m.up = true;
  m.role = MemberRole::kReplica;
  m.lag_bytes = lag_bytes;
  m.lag_seconds = lag_seconds;
  return m;
}

config::ReadPoolConfig Pool() {
  config::ReadPoolConfig p;
  p.database = "reads";
  p.max_lag_bytes = 8 * kMB;
  p.readmit_lag_bytes = 1 * kMB;
  p.readmit_after = seconds(5);
  return p;
}

TEST(ReadPoolRouterTest, PicksTheFreshestAndKeepsItWhileAdmitted) {
  ReadPoolRouter router("c", Pool());
  const Clock::time_point t0;
  auto pick = router.Decide({Primary("p"), Replica("r1", 2 * kMB), Replica("r2", 0)}, t0);
  EXPECT_EQ(pick, "r2");
  router.Applied(pick);
  // r1 becomes fresher: r2 is still admitted, so the pooler stays.
  EXPECT_EQ(
      router.Decide({Primary("p"), Replica("r1", 0), Replica("r2", 3 * kMB)}, t0 + seconds(1)),
      "r2");
  EXPECT_TRUE(router.admitted().at("r1"));
  EXPECT_TRUE(router.admitted().at("r2"));
}

TEST(ReadPoolRouterTest, DropsAReplicaPastTheBoundAndReadmitsAfterTheHysteresis) {
  ReadPoolRouter router("c", Pool());
  const Clock::time_point t0;
  router.Applied(router.Decide({Primary("p"), Replica("r1", 0), Replica("r2", 0)}, t0));
  ASSERT_EQ(router.current(), "r1");
  // r1 passes max_lag_bytes: rerouted to r2 at once.
  auto pick =
      router.Decide({Primary("p"), Replica("r1", 9 * kMB), Replica("r2", 0)}, t0 + seconds(1));
  EXPECT_EQ(pick, "r2");
  router.Applied(pick);
  EXPECT_FALSE(router.admitted().at("r1"));
  // Back under max but above readmit: still out, the clock does not start.
  router.Decide({Primary("p"), Replica("r1", 4 * kMB), Replica("r2", 0)}, t0 + seconds(2));
  EXPECT_FALSE(router.admitted().at("r1"));
  // Under readmit from t0+3s: readmitted at t0+8s, not before.
  router.Decide({Primary("p"), Replica("r1", 0), Replica("r2", 0)}, t0 + seconds(3));
  router.Decide({Primary("p"), Replica("r1", 0), Replica("r2", 0)}, t0 + seconds(7));
  EXPECT_FALSE(router.admitted().at("r1"));
  EXPECT_EQ(router.Decide({Primary("p"), Replica("r1", 0), Replica("r2", 0)}, t0 + seconds(8)),
            "r2");
  EXPECT_TRUE(router.admitted().at("r1"));
}

TEST(ReadPoolRouterTest, ARelapseRestartsTheHysteresis) {
  ReadPoolRouter router("c", Pool());
  const Clock::time_point t0;
  router.Decide({Replica("r1", 9 * kMB)}, t0);
  router.Decide({Replica("r1", 0)}, t0 + seconds(1));
  router.Decide({Replica("r1", 2 * kMB)}, t0 + seconds(4));
  router.Decide({Replica("r1", 0)}, t0 + seconds(5));
  EXPECT_EQ(router.Decide({Replica("r1", 0)}, t0 + seconds(9)), "");
  EXPECT_EQ(router.Decide({Replica("r1", 0)}, t0 + seconds(10)), "r1");
}

TEST(ReadPoolRouterTest, FallsBackToThePrimaryOrStays) {
  ReadPoolRouter to_primary("c", Pool());
  to_primary.Applied("r1");
  EXPECT_EQ(to_primary.Decide({Primary("p"), Replica("r1", 20 * kMB)}, Clock::time_point()), "p");

  auto none = Pool();
  none.fallback = config::ReadPoolConfig::Fallback::kNone;
  ReadPoolRouter stays("c", none);
  stays.Applied("r1");
  EXPECT_EQ(stays.Decide({Primary("p"), Replica("r1", 20 * kMB)}, Clock::time_point()), "r1");
}

TEST(ReadPoolRouterTest, ADownReplicaOrUnknownLagIsNotAdmitted) {
  ReadPoolRouter router("c", Pool());
  MemberHealth down = Replica("r1", 0);
  down.up = false;
  down.role = MemberRole::kUnknown;
  MemberHealth unknown = Replica("r2", 0);
  unknown.lag_bytes.reset();
  EXPECT_EQ(router.Decide({Primary("p"), Replica("r1", 0), unknown}, Clock::time_point()), "r1");
  router.Applied("r1");
  EXPECT_EQ(router.Decide({Primary("p"), down, unknown}, Clock::time_point() + seconds(1)), "p");
  EXPECT_FALSE(router.admitted().at("r1"));
  EXPECT_FALSE(router.admitted().at("r2"));
}

TEST(ReadPoolRouterTest, OnlyListedMembersOfItsClusterAreCandidates) {
  auto pool = Pool();
  pool.members = {"r2"};
  ReadPoolRouter router("c", pool);
  MemberHealth other = Replica("r9", 0);
  other.cluster = "elsewhere";
  EXPECT_EQ(router.Decide({Primary("p"), Replica("r1", 0), Replica("r2", 2 * kMB), other},
                          Clock::time_point()),
            "r2");
  EXPECT_EQ(router.admitted().size(), 1u);
}

TEST(ReadPoolRouterTest, SecondsBoundsWork) {
  config::ReadPoolConfig pool;
  pool.max_lag_seconds = 5;
  pool.readmit_lag_seconds = 1;
  pool.readmit_after = seconds(0);
  ReadPoolRouter router("c", pool);
  router.Applied(router.Decide({Replica("r1", 0, 0), Replica("r2", 0, 0)}, Clock::time_point()));
  EXPECT_EQ(router.Decide({Replica("r1", kMB, 6), Replica("r2", kMB, 2)}, Clock::time_point()),
            "r2");
}

}  // namespace
}  // namespace pgdr::actions

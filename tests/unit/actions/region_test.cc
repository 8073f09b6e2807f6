// Regional promotion guards on synthetic snapshots: region a (primary "a1",
// replica "a2") and an archive-fed standby region b ("b1", "b2"). Each guard
// refuses on its own; the promotion passes only when all hold.
#include "pgdr/actions/region.h"

#include <gtest/gtest.h>

namespace pgdr::actions {
namespace {

using std::chrono::seconds;

const TimePoint kT0 = Clock::from_time_t(1'800'000'000);

MemberView Member(std::string name, std::string region, bool up, std::optional<bool> recovery,
                  double lsn) {
  MemberView m;
  m.member = std::move(name);
  m.region = std::move(region);
  m.address = m.member + ".example:5432";
  m.up = up;
  if (up) {
    m.in_recovery = recovery;
    m.lsn_bytes = lsn;
  }
  return m;
}

RegionPolicy Policy() {
  RegionPolicy p;
  p.cluster = "prod";
  p.standby_region = "b";
  p.confirm_for = seconds(10);
  p.max_rpo_bytes = 1000;
  p.cooldown = seconds(600);
  return p;
}

struct Scenario {
  RegionTracker tracker;
  RegionPolicy policy = Policy();
  std::vector<MemberView> members;

  // Healthy at kT0: a1 primary at 10'000, b1 and b2 replay 9'600 and 9'500.
  Scenario() {
    const collect::PrimaryPosition live{"a1", 10'000, kT0, true, "a"};
    Observe({Member("a1", "a", true, false, 10'000), Member("a2", "a", true, true, 10'000),
             Member("b1", "b", true, true, 9'600), Member("b2", "b", true, true, 9'500)},
            &live, kT0);
  }
  void Observe(std::vector<MemberView> m, const collect::PrimaryPosition* p, TimePoint at) {
    members = std::move(m);
    tracker.Observe(members, p, policy.standby_region, at);
  }
  // Region a gone at kT0 + 1s; b frozen where it was (or advancing by `step`).
  void LoseRegionA(TimePoint at, double step = 0) {
    const collect::PrimaryPosition last{"a1", 10'000, kT0, false, "a"};
    const double moved = step * std::chrono::duration<double>(at - kT0).count();
    Observe({Member("a1", "a", false, {}, 0), Member("a2", "a", false, {}, 0),
             Member("b1", "b", true, true, 9'600 + moved), Member("b2", "b", true, true, 9'500)},
            &last, at);
  }
  RegionDecision Decide(TimePoint now, bool maintenance = false) {
    return DecideRegion(members, tracker, policy, maintenance, now);
  }
};

TEST(RegionGuards, HealthyClusterIsNoDecision) {
  Scenario s;
  EXPECT_EQ(s.Decide(kT0).reason, "healthy");
  EXPECT_EQ(s.tracker.primary_region, "a");
}

TEST(RegionGuards, PromotesTheMostAdvancedStandbyAfterConfirmFor) {
  Scenario s;
  s.LoseRegionA(kT0 + seconds(1));
  EXPECT_EQ(s.Decide(kT0 + seconds(1)).reason, "not_confirmed");
  s.LoseRegionA(kT0 + seconds(12));
  const RegionDecision d = s.Decide(kT0 + seconds(12));
  EXPECT_TRUE(d.promote) << d.reason << ": " << d.detail;
  EXPECT_EQ(d.candidate, "b1");
  EXPECT_EQ(d.rpo_bytes, 400);
  EXPECT_EQ(d.primary_region, "a");
}

TEST(RegionGuards, OneAnsweringPrimaryRegionMemberRefuses) {
  Scenario s;
  const collect::PrimaryPosition last{"a1", 10'000, kT0, false, "a"};
  s.Observe({Member("a1", "a", false, {}, 0), Member("a2", "a", true, true, 10'000),
             Member("b1", "b", true, true, 9'600), Member("b2", "b", true, true, 9'500)},
            &last, kT0 + seconds(20));
  const RegionDecision d = s.Decide(kT0 + seconds(20));
  EXPECT_EQ(d.reason, "primary_region_reachable");
  EXPECT_NE(d.detail.find("a2"), std::string::npos);
}

TEST(RegionGuards, AStandbyStillAdvancingIsAPartition) {
  Scenario s;
  for (int t = 1; t <= 30; t += 2) s.LoseRegionA(kT0 + seconds(t), 10);
  EXPECT_EQ(s.Decide(kT0 + seconds(29)).reason, "standby_receiving");
}

TEST(RegionGuards, AStandbyStreamingFromOutsideIsAPartition) {
  Scenario s;
  s.LoseRegionA(kT0 + seconds(1));
  s.members[2].streaming = true;
  s.members[2].sender = "10.9.9.9:5432";  // an address of region a pgdr cannot reach
  s.tracker.Observe(s.members, nullptr, "b", kT0 + seconds(20));
  EXPECT_EQ(s.Decide(kT0 + seconds(20)).reason, "standby_receiving");
  // Cascading from its own region's member does not count as receiving.
  s.members[2].sender = s.members[3].address;
  const RegionDecision d = s.Decide(kT0 + seconds(20));
  EXPECT_TRUE(d.promote) << d.reason << ": " << d.detail;
}

TEST(RegionGuards, RpoAboveMaxIsRefusedWithTheFigure) {
  Scenario s;
  s.policy.max_rpo_bytes = 100;
  s.LoseRegionA(kT0 + seconds(1));
  s.LoseRegionA(kT0 + seconds(20));
  const RegionDecision d = s.Decide(kT0 + seconds(20));
  EXPECT_EQ(d.reason, "rpo_exceeded");
  EXPECT_NE(d.detail.find("400 bytes"), std::string::npos) << d.detail;
}

TEST(RegionGuards, MaintenanceAndCooldownRefuse) {
  Scenario s;
  s.LoseRegionA(kT0 + seconds(1));
  s.LoseRegionA(kT0 + seconds(20));
  EXPECT_EQ(s.Decide(kT0 + seconds(20), true).reason, "maintenance");
  s.tracker.last_promotion = kT0;
  EXPECT_EQ(s.Decide(kT0 + seconds(20)).reason, "cooldown");
}

TEST(RegionGuards, NoStandbyAndUnknownPrimaryRegion) {
  Scenario s;
  s.LoseRegionA(kT0 + seconds(1));
  s.members[2] = Member("b1", "b", false, {}, 0);
  s.members[3] = Member("b2", "b", false, {}, 0);
  s.tracker.Observe(s.members, nullptr, "b", kT0 + seconds(20));
  EXPECT_EQ(s.Decide(kT0 + seconds(20)).reason, "no_standby");

  RegionTracker fresh;
  const std::vector<MemberView> down = {Member("a1", "", false, {}, 0),
                                        Member("b1", "b", true, true, 5)};
  fresh.Observe(down, nullptr, "b", kT0);
  EXPECT_EQ(DecideRegion(down, fresh, Policy(), false, kT0).reason, "unknown_primary_region");
}

}  // namespace
}  // namespace pgdr::actions

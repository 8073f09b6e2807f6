// DecisionLog: bounded by count and by age, newest first, kept over a reload.
#include "pgdr/actions/decision_log.h"

#include <gtest/gtest.h>

namespace pgdr::actions {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

const TimePoint kT0 = Clock::from_time_t(1'800'000'000);

Decision At(TimePoint t, const std::string& summary) {
  Decision d;
  d.at = t;
  d.cluster = "prod";
  d.summary = summary;
  return d;
}

TEST(DecisionLog, NewestFirstWithinTheWindow) {
  DecisionLog log(10, hours(24));
  log.Record(At(kT0, "old"));
  log.Record(At(kT0 + hours(20), "mid"));
  log.Record(At(kT0 + hours(25), "new"));
  const auto recent = log.Recent(kT0 + hours(25));
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_EQ(recent[0].summary, "new");
  EXPECT_EQ(recent[1].summary, "mid");
  EXPECT_TRUE(log.Recent(kT0 + hours(50)).empty());
}

TEST(DecisionLog, CapacityDropsTheOldest) {
  DecisionLog log(3, hours(24));
  for (int i = 0; i < 5; ++i) log.Record(At(kT0 + seconds(i), std::to_string(i)));
  const auto recent = log.Recent(kT0 + seconds(10));
  ASSERT_EQ(recent.size(), 3u);
  EXPECT_EQ(recent[0].summary, "4");
  EXPECT_EQ(recent[2].summary, "2");
}

TEST(DecisionLog, AdoptPutsTheOlderHistoryFirst) {
  DecisionLog before(3, hours(24));
  before.Record(At(kT0, "a"));
  before.Record(At(kT0 + seconds(1), "b"));
  DecisionLog after(3, hours(24));
  after.Record(At(kT0 + seconds(2), "c"));
  after.Record(At(kT0 + seconds(3), "d"));
  after.Adopt(before);
  const auto recent = after.Recent(kT0 + seconds(3));
  ASSERT_EQ(recent.size(), 3u);  // capacity: "a" dropped
  EXPECT_EQ(recent[0].summary, "d");
  EXPECT_EQ(recent[2].summary, "b");
}

}  // namespace
}  // namespace pgdr::actions

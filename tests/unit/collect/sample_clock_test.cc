#include "collect/sample_clock.h"

#include <gtest/gtest.h>

namespace pgdr::collect {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Steady = std::chrono::steady_clock;
using System = std::chrono::system_clock;

// The system clock reads 1,700,000,000.000250 s when the steady clock reads 50 s.
const Steady::time_point kSteady0{seconds(50)};
const System::time_point kSystem0{seconds(1'700'000'000) + microseconds(250)};

int64_t Ms(System::time_point t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}

TEST(SampleClock, CycleWithinToleranceIsTimestampedAtItsTick) {
  SampleClock clock;
  for (int k = 0; k < 5; ++k) {
    const auto tick = kSteady0 + seconds(k);
    // Woken 0.3 .. 1.9 ms late, a fresh offset reading each time (sub-ms noise).
    const auto late = microseconds(300 + 400 * k);
    const auto sys = kSystem0 + seconds(k) + late + microseconds(k % 2 == 0 ? 30 : -20);
    EXPECT_EQ(Ms(clock.At(tick, tick + late, sys)), 1'700'000'000'000 + 1000 * k) << k;
  }
}

TEST(SampleClock, LateCycleKeepsItsActualStart) {
  SampleClock clock;
  EXPECT_EQ(Ms(clock.At(kSteady0, kSteady0, kSystem0)), 1'700'000'000'000);
  const auto tick = kSteady0 + seconds(1);
  const auto late = microseconds(2'001);  // just past the 2 ms tolerance
  EXPECT_EQ(Ms(clock.At(tick, tick + late, kSystem0 + seconds(1) + late)), 1'700'000'001'002);
  // Exactly at the tolerance still aligns.
  const auto tick2 = kSteady0 + seconds(2);
  EXPECT_EQ(Ms(clock.At(tick2, tick2 + milliseconds(2), kSystem0 + seconds(2) + milliseconds(2))),
            1'700'000'002'000);
}

TEST(SampleClock, SystemClockStepMovesTheGrid) {
  SampleClock clock;
  EXPECT_EQ(Ms(clock.At(kSteady0, kSteady0, kSystem0)), 1'700'000'000'000);
  // The system clock stepped 5 s back between the cycles.
  const auto tick = kSteady0 + seconds(1);
  EXPECT_EQ(Ms(clock.At(tick, tick, kSystem0 + seconds(1) - seconds(5))), 1'699'999'996'000);
  const auto tick2 = kSteady0 + seconds(2);
  EXPECT_EQ(Ms(clock.At(tick2, tick2 + milliseconds(1), kSystem0 - seconds(3) + milliseconds(1))),
            1'699'999'997'000);
}

TEST(SampleClock, StartCycleAlignsToTheLastTickNotAfterNow) {
  SampleClock clock;
  auto next = kSteady0;
  // An overrun: the cycle due at 50 s starts at 52.5 s; the next tick is 53 s.
  const auto sample = clock.StartCycle(next, seconds(1), kSteady0 + milliseconds(2'500));
  EXPECT_EQ(next, kSteady0 + seconds(3));
  // 500 ms past its tick (52 s): the actual start, whatever the system clock says.
  const auto now = System::now();
  EXPECT_LE(sample, now);
  EXPECT_GT(sample, now - seconds(5));
  EXPECT_EQ(sample.time_since_epoch() % milliseconds(1), System::duration::zero());
}

}  // namespace
}  // namespace pgdr::collect

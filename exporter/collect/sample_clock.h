// SampleClock: the timestamp of a collection cycle's samples, aligned to the
// cycle's fixed-rate schedule as Prometheus aligns scrape timestamps
// (--scrape.timestamp-tolerance, 2 ms by default, since 2.47).
//
// A cycle starts when the collection thread wakes up, a millisecond or two
// after its tick; with the wall clock read then, nearly every timestamp delta
// differs from the previous one and a TSDB sample spends 9 bits or more on its
// time instead of 1 (delta-of-delta 0). A cycle that started within
// kTimestampTolerance of its tick is timestamped at the tick, mapped to the
// system clock; a later one keeps the time it actually started. The
// steady-to-system offset is fixed at the first cycle and taken again only
// when the system clock stepped by more than the tolerance, so ticks a whole
// number of milliseconds apart give timestamps exactly that far apart.
//
// TargetResult::collected_at (the end of the cycle, what freshness and
// staleness read) is unaffected.
#pragma once

#include <chrono>
#include <optional>

namespace pgdr::collect {

inline constexpr std::chrono::milliseconds kTimestampTolerance{2};

class SampleClock {
 public:
  // Starts a cycle at `now` on the fixed-rate schedule whose next tick is
  // `next_start`: moves `next_start` past `now` (a cycle that overran starts
  // the next one on the next tick) and returns the samples' timestamp (At()
  // of the last tick not after `now`, with the system clock read now).
  std::chrono::system_clock::time_point StartCycle(
      std::chrono::steady_clock::time_point& next_start,
      std::chrono::steady_clock::duration interval, std::chrono::steady_clock::time_point now);

  // The samples' timestamp (whole milliseconds) of a cycle scheduled at
  // `tick` that started at `start`, when the system clock read `system_start`.
  std::chrono::system_clock::time_point At(std::chrono::steady_clock::time_point tick,
                                           std::chrono::steady_clock::time_point start,
                                           std::chrono::system_clock::time_point system_start);

 private:
  // system_clock minus steady_clock, as of the first cycle or the last step.
  std::optional<std::chrono::nanoseconds> offset_;
};

}  // namespace pgdr::collect

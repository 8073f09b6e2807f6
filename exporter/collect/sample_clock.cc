// Scheduled-tick sample timestamps (see sample_clock.h).
#include "collect/sample_clock.h"

namespace pgdr::collect {

std::chrono::system_clock::time_point SampleClock::StartCycle(
    std::chrono::steady_clock::time_point& next_start, std::chrono::steady_clock::duration interval,
    std::chrono::steady_clock::time_point now) {
  auto tick = next_start;
  while (next_start <= now) {
    tick = next_start;
    next_start += interval;
  }
  return At(tick, now, std::chrono::system_clock::now());
}

std::chrono::system_clock::time_point SampleClock::At(
    std::chrono::steady_clock::time_point tick, std::chrono::steady_clock::time_point start,
    std::chrono::system_clock::time_point system_start) {
  using std::chrono::milliseconds;
  using std::chrono::nanoseconds;
  const nanoseconds offset = std::chrono::duration_cast<nanoseconds>(
      system_start.time_since_epoch() - start.time_since_epoch());
  if (!offset_ || offset - *offset_ > kTimestampTolerance ||
      *offset_ - offset > kTimestampTolerance) {
    offset_ = offset;
  }
  const auto late = start - tick;
  if (late < late.zero() || late > kTimestampTolerance) {
    return std::chrono::floor<milliseconds>(system_start);
  }
  const nanoseconds aligned =
      std::chrono::duration_cast<nanoseconds>(tick.time_since_epoch()) + *offset_;
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::floor<milliseconds>(aligned)));
}

}  // namespace pgdr::collect

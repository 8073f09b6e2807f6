// A std::chrono duration as the timespec that ppoll(2) and sigtimedwait(2)
// take: their waits to the nanosecond, where poll(2)'s whole milliseconds
// would wake every timer up to 1 ms late.
#pragma once

#include <chrono>
#include <ctime>

namespace pgdr::core {

// A negative duration waits not at all.
inline timespec ToTimespec(std::chrono::nanoseconds d) {
  if (d < d.zero()) d = d.zero();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(d);
  return {static_cast<time_t>(secs.count()), static_cast<long>((d - secs).count())};
}

}  // namespace pgdr::core

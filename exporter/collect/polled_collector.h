// The interface the CollectionLoop drives: anything that collects over one
// non-blocking socket on a schedule (a PostgreSQL member, a PgBouncer).
//
// Thread-safety: none; every implementation belongs to the collection thread.
#pragma once

#include <chrono>
#include <memory>

#include "pgdr/collect/target_result.h"

namespace pgdr::collect {

using SteadyClock = std::chrono::steady_clock;

class PolledCollector {
 public:
  virtual ~PolledCollector() = default;
  // The socket to poll and the events wanted, or -1 when waiting on a timer only.
  virtual int socket() const = 0;
  virtual short poll_events() const = 0;
  // When Step() must be called at the latest.
  virtual SteadyClock::time_point wake_at() const = 0;
  // Whether the connection is up (false while connecting or closed): a cycle
  // started now runs over it instead of connecting first.
  virtual bool connected() const = 0;
  // Makes all the progress possible now; `revents` are the poll() events seen
  // on socket() (0 when woken by the timer). Returns the result when a cycle ends.
  virtual std::shared_ptr<const TargetResult> Step(SteadyClock::time_point now, short revents) = 0;
};

}  // namespace pgdr::collect

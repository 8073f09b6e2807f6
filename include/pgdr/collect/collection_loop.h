// CollectionLoop: one thread that drives every target's TargetCollector with
// poll(), so that N members cost one thread and N sockets, and no member can
// delay another (each has its own schedule and deadline).
//
// First cycles are spread over the interval so that a fleet does not hit its
// databases in the same millisecond, and at most 64 connection attempts are
// in flight at once (the rest wait their turn): a start or a mass reconnect
// cannot overwhelm the servers with backend start-ups that then all miss
// their deadline. Each finished cycle is handed to the
// sink on the loop's thread; the sink must not block.
//
// A reload hands the loop a new config with Reconfigure(): members whose
// entry is unchanged (TargetConfig/PgBouncerConfig::SameCollection), with the
// same queries and collection settings, keep their connection and schedule;
// new or changed members start afresh and removed ones are closed. The loop
// applies it on its own thread at its next wake-up, without pausing the
// other members.
//
// Thread-safety: Run() on one thread; Stop() and Reconfigure() from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "pgdr/collect/target_result.h"
#include "pgdr/config/config.h"

namespace pgdr::collect {

class CollectionLoop {
 public:
  using Sink = std::function<void(std::shared_ptr<const TargetResult>)>;

  CollectionLoop(const config::Config& config, Sink sink);
  ~CollectionLoop();
  CollectionLoop(const CollectionLoop&) = delete;
  CollectionLoop& operator=(const CollectionLoop&) = delete;

  // Runs until Stop(). Connections are closed when it returns.
  void Run();
  void Stop();
  void Reconfigure(const config::Config& config);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pgdr::collect

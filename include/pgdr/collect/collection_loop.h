// CollectionLoop: one thread that drives every target's TargetCollector with
// poll(), so that N members cost one thread and N sockets, and no member can
// delay another (each has its own schedule and deadline).
//
// First cycles are spread over the interval so that a fleet does not hit its
// databases in the same millisecond. Each finished cycle is handed to the
// sink on the loop's thread; the sink must not block.
//
// Thread-safety: Run() on one thread; Stop() from any thread.
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

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pgdr::collect

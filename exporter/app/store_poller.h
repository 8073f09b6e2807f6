// StorePoller: runs each configured backup monitor on its own thread, on its
// own interval, so that a slow or hung object store never delays collection,
// scrapes, or the other stores. Each poll's metrics and archive position are
// handed to the sink (the exporter keeps the latest per store for the
// composer). A store is polled again `interval` after its last poll
// started, or at once when the poll took longer.
//
// A reload does not wait for a poll in flight (an object store may take its
// whole deadline to answer): it calls RequestStop() on the old poller and
// keeps it until Finished(); the destructor is the only call that joins.
//
// Thread-safety: construct, RequestStop, Finished and destroy from one
// thread at a time (the exporter does, under its reload lock); the sink is called from the pollers'
// threads and must be thread-safe and quick, and may still be called after RequestStop() by a poll
// that was in flight.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "pgdr/collect/snapshot.h"
#include "pgdr/store/backup_monitor.h"

namespace pgdr::app {

struct StorePoll {
  std::string store;  // the monitor's name
  collect::ArchivePosition position;
  std::vector<prometheus::MetricFamily> families;
};

// Builds the monitors of the parsed `backup_stores:`; errors name file:line:col.
core::Result<std::vector<std::unique_ptr<store::BackupMonitor>>> MakeBackupMonitors(
    const std::vector<store::StoreSettings>& stores);

class StorePoller {
 public:
  using Sink = std::function<void(StorePoll)>;

  StorePoller(std::vector<std::unique_ptr<store::BackupMonitor>> monitors, const Sink& sink);
  ~StorePoller();  // stops and joins
  StorePoller(const StorePoller&) = delete;
  StorePoller& operator=(const StorePoller&) = delete;

  // Asks every poller thread to end after its current poll; does not block.
  void RequestStop();
  // True once every poller thread has returned (destruction is then instant).
  bool Finished() const { return running_.load() == 0; }

 private:
  std::vector<std::unique_ptr<store::BackupMonitor>> monitors_;
  std::atomic<size_t> running_{0};
  std::vector<std::jthread> threads_;
};

}  // namespace pgdr::app

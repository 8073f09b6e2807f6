#include "app/store_poller.h"

#include <condition_variable>
#include <mutex>

namespace pgdr::app {

core::Result<std::vector<std::unique_ptr<store::BackupMonitor>>> MakeBackupMonitors(
    const std::vector<store::StoreSettings>& stores) {
  std::vector<std::unique_ptr<store::BackupMonitor>> out;
  for (const auto& entry : stores) {
    auto monitor = store::MakeBackupMonitor(entry);
    if (!monitor.ok()) return monitor.status();
    out.push_back(std::move(*monitor));
  }
  return out;
}

StorePoller::StorePoller(std::vector<std::unique_ptr<store::BackupMonitor>> monitors,
                         const Sink& sink)
    : monitors_(std::move(monitors)), running_(monitors_.size()) {
  for (auto& monitor : monitors_) {
    store::BackupMonitor* m = monitor.get();
    threads_.emplace_back([this, m, sink](const std::stop_token& stop) {
      std::mutex mu;
      std::condition_variable_any cv;
      while (!stop.stop_requested()) {
        const auto started = std::chrono::steady_clock::now();
        core::MetricSet metrics;
        const store::ArchiveFacts facts = m->Poll(metrics);
        sink({m->name(),
              {facts.cluster, facts.store, facts.up, facts.newest_archived_lsn_bytes,
               facts.newest_segment_timestamp_seconds},
              metrics.Take()});
        std::unique_lock lock(mu);
        cv.wait_until(lock, stop, started + m->interval(), [] { return false; });
      }
      running_.fetch_sub(1);
    });
  }
}

void StorePoller::RequestStop() {
  for (auto& t : threads_) t.request_stop();
}

StorePoller::~StorePoller() {
  RequestStop();
  threads_.clear();  // joins
}

}  // namespace pgdr::app

#include "pgdr/collect/collection_loop.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include "collect/pooler_collector.h"
#include "collect/target_collector.h"

namespace pgdr::collect {

class CollectionLoop::Impl {
 public:
  Impl(const config::Config& config, Sink sink)
      : sink_(std::move(sink)), wake_fd_(eventfd(0, EFD_CLOEXEC)) {
    auto queries = std::make_shared<const std::vector<config::QuerySpec>>(config.queries);
    const auto start = SteadyClock::now();
    const size_t n = config.targets.size() + config.pgbouncers.size();
    auto offset = [&](size_t i) {
      return start + config.collection.interval * static_cast<long>(i) / static_cast<long>(n);
    };
    for (size_t i = 0; i < config.targets.size(); ++i) {
      collectors_.push_back(std::make_unique<TargetCollector>(config.targets[i], queries,
                                                              config.collection, offset(i)));
    }
    for (size_t i = 0; i < config.pgbouncers.size(); ++i) {
      collectors_.push_back(std::make_unique<PoolerCollector>(
          config.pgbouncers[i], config.collection, offset(config.targets.size() + i)));
    }
  }
  ~Impl() {
    if (wake_fd_ >= 0) close(wake_fd_);
  }

  void Run() {
    std::vector<pollfd> fds;
    std::vector<PolledCollector*> owners;
    while (!stop_.load()) {
      auto now = SteadyClock::now();
      // Timers first: cycles due, deadlines passed.
      for (auto& c : collectors_) {
        if (c->wake_at() <= now) Deliver(c->Step(now, 0));
      }
      fds.clear();
      owners.clear();
      fds.push_back({wake_fd_, POLLIN, 0});
      owners.push_back(nullptr);
      auto next = now + std::chrono::seconds(1);
      for (auto& c : collectors_) {
        next = std::min(next, c->wake_at());
        const int fd = c->socket();
        if (fd >= 0 && c->poll_events() != 0) {
          fds.push_back({fd, c->poll_events(), 0});
          owners.push_back(c.get());
        }
      }
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count();
      const int timeout = static_cast<int>(std::clamp<long long>(wait + 1, 0, 1000));
      const int ready = poll(fds.data(), fds.size(), timeout);
      if (ready <= 0) continue;
      now = SteadyClock::now();
      for (size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents != 0) Deliver(owners[i]->Step(now, fds[i].revents));
      }
    }
  }

  void Stop() {
    stop_.store(true);
    const uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof one) < 0) {
      // The loop also wakes within a second on its own.
    }
  }

 private:
  void Deliver(std::shared_ptr<const TargetResult> result) {
    if (result) sink_(std::move(result));
  }

  Sink sink_;
  int wake_fd_;
  std::atomic<bool> stop_{false};
  std::vector<std::unique_ptr<PolledCollector>> collectors_;
};

CollectionLoop::CollectionLoop(const config::Config& config, Sink sink)
    : impl_(std::make_unique<Impl>(config, std::move(sink))) {}
CollectionLoop::~CollectionLoop() = default;
void CollectionLoop::Run() { impl_->Run(); }
void CollectionLoop::Stop() { impl_->Stop(); }

}  // namespace pgdr::collect

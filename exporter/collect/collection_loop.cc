#include "pgdr/collect/collection_loop.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <variant>

#include "collect/database_fanout.h"
#include "collect/pooler_collector.h"
#include "collect/target_collector.h"
#include "pgdr/core/mutex.h"
#include "pgdr/core/timespec.h"

namespace pgdr::collect {
namespace {

// At most this many connection attempts in flight at once; cycles due that
// must connect first wait, the longest-waiting first, for one to end. Cycles
// over an open connection never wait. It bounds the connection storm of a
// start, or of a reconnect after a network cut, which otherwise makes every
// server fork and warm up hundreds of backends at once, misses the connect
// deadline on all of them and retries (measured: at 2,000 members on 4
// servers only ~1,300 of 4,000 connections ever stayed up).
constexpr size_t kMaxConnectsInFlight = 64;
// Members whose first cycles start together (Build).
constexpr size_t kStartBatch = 32;

}  // namespace

class CollectionLoop::Impl {
 public:
  Impl(const config::Config& config, Sink sink)
      : sink_(std::move(sink)), wake_fd_(eventfd(0, EFD_CLOEXEC)) {
    members_ = Build(config, {});
  }
  ~Impl() {
    if (wake_fd_ >= 0) close(wake_fd_);
  }

  void Run() {
    std::vector<pollfd> fds;
    std::vector<std::pair<Member*, PolledCollector*>> owners;
    std::vector<std::pair<Member*, PolledCollector*>> all;
    std::vector<std::pair<Member*, PolledCollector*>> due;
    std::vector<TargetCollector*> per_database;
    while (!stop_.load()) {
      if (auto next = TakePending()) members_ = Build(*next, std::move(members_));
      auto now = SteadyClock::now();
      all.clear();
      for (auto& m : members_) {
        all.emplace_back(&m, m.collector.get());
        if (!m.databases) continue;
        m.databases->ApplyPending(now);
        per_database.clear();
        m.databases->AppendCollectors(per_database);
        for (TargetCollector* c : per_database) all.emplace_back(&m, c);
      }
      // Timers first: deadlines passed, cycles due over an open connection,
      // then those that must connect first as far as the cap on connection
      // attempts in flight allows (the longest-waiting first).
      size_t connecting = 0;
      due.clear();
      for (auto& owner : all) {
        PolledCollector* c = owner.second;
        const bool in_flight = c->socket() >= 0;
        if (in_flight && !c->connected()) ++connecting;
        if (c->wake_at() > now) continue;
        if (in_flight || c->connected()) {
          StepOne(*owner.first, c, now, 0);
        } else {
          due.push_back(owner);
        }
      }
      std::sort(due.begin(), due.end(), [](const auto& a, const auto& b) {
        return a.second->wake_at() < b.second->wake_at();
      });
      for (size_t i = 0; i < due.size() && connecting < kMaxConnectsInFlight; ++i) {
        StepOne(*due[i].first, due[i].second, now, 0);
        if (due[i].second->socket() >= 0 && !due[i].second->connected()) ++connecting;
      }
      fds.clear();
      owners.clear();
      fds.push_back({wake_fd_, POLLIN, 0});
      owners.emplace_back(nullptr, nullptr);
      // Deferred cycles wait for a connection attempt to end (a socket
      // event), not for a timer already past.
      auto next = now + std::chrono::seconds(1);
      for (auto& owner : all) {
        PolledCollector* c = owner.second;
        if (c->wake_at() > now || c->socket() >= 0 || c->connected()) {
          next = std::min(next, c->wake_at());
        }
        const int fd = c->socket();
        if (fd >= 0 && c->poll_events() != 0) {
          fds.push_back({fd, c->poll_events(), 0});
          owners.push_back(owner);
        }
      }
      // To the nanosecond: a wake-up rounded to whole milliseconds starts
      // every cycle up to 1 ms after its tick, which is half the tolerance
      // within which its samples keep the tick's timestamp (sample_clock.h).
      const timespec timeout =
          core::ToTimespec(std::min<SteadyClock::duration>(next - now, std::chrono::seconds(1)));
      const int ready = ppoll(fds.data(), fds.size(), &timeout, nullptr);
      if (ready <= 0) continue;
      if ((fds[0].revents & POLLIN) != 0) {
        uint64_t count = 0;
        if (read(wake_fd_, &count, sizeof count) < 0) {
          // Nothing to drain: another wake-up already did.
        }
      }
      now = SteadyClock::now();
      for (size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents != 0) StepOne(*owners[i].first, owners[i].second, now, fds[i].revents);
      }
    }
  }

  void Stop() {
    stop_.store(true);
    Wake();
  }

  void Reconfigure(const config::Config& config) {
    {
      const core::MutexLock lock(pending_mu_);
      pending_ = config;
    }
    Wake();
  }

 private:
  using Entry = std::variant<config::TargetConfig, config::PgBouncerConfig>;
  struct Member {
    Entry entry;
    std::unique_ptr<PolledCollector> collector;
    std::unique_ptr<DatabaseFanout> databases;  // targets whose queries run per database
  };

  // Steps `c`, the member's own collector or one of its per-database ones
  // (whose results wait in the fan-out for the member's next result).
  void StepOne(Member& m, PolledCollector* c, SteadyClock::time_point now, short revents) {
    auto result = c->Step(now, revents);
    if (!result) return;
    if (c != m.collector.get()) {
      m.databases->Store(c, std::move(result));
      return;
    }
    if (m.databases) {
      if (result->databases) m.databases->Follow(*result->databases);
      result = m.databases->Attach(*result);
    }
    Deliver(std::move(result));
  }

  static bool Same(const Entry& a, const Entry& b) {
    if (a.index() != b.index()) return false;
    if (const auto* t = std::get_if<config::TargetConfig>(&a)) {
      return t->SameCollection(std::get<config::TargetConfig>(b));
    }
    return std::get<config::PgBouncerConfig>(a).SameCollection(
        std::get<config::PgBouncerConfig>(b));
  }

  // The members of `config`, moving over from `old` those unchanged. New
  // members start in batches of kStartBatch spread over the interval from
  // now: a fleet's connections do not all open at once, while a small
  // cluster's members are sampled at the same instant (its cross-member
  // series compare one moment) and finish together, so one poll wake-up
  // and one composition serve them all.
  std::vector<Member> Build(const config::Config& config, std::vector<Member> old) {
    if (!queries_ || *queries_ != config.queries || collection_ != config.collection) {
      old.clear();
      queries_ = std::make_shared<const std::vector<config::QuerySpec>>(config.queries);
      collection_ = config.collection;
    }
    std::vector<Entry> entries(config.targets.begin(), config.targets.end());
    entries.insert(entries.end(), config.pgbouncers.begin(), config.pgbouncers.end());
    const auto start = SteadyClock::now();
    const auto batches = static_cast<long>((entries.size() + kStartBatch - 1) / kStartBatch);
    std::vector<Member> out;
    out.reserve(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
      auto kept = std::find_if(old.begin(), old.end(), [&](const Member& m) {
        return m.collector && Same(m.entry, entries[i]);
      });
      if (kept != old.end()) {
        out.push_back(std::move(*kept));
        continue;
      }
      const auto first =
          start + collection_.interval * static_cast<long>(i / kStartBatch) / batches;
      std::unique_ptr<PolledCollector> collector;
      std::unique_ptr<DatabaseFanout> databases;
      if (const auto* t = std::get_if<config::TargetConfig>(&entries[i])) {
        collector = std::make_unique<TargetCollector>(*t, queries_, collection_, first);
        if (DatabaseFanout::Needed(*queries_)) {
          databases = std::make_unique<DatabaseFanout>(*t, queries_, collection_);
        }
      } else {
        collector = std::make_unique<PoolerCollector>(std::get<config::PgBouncerConfig>(entries[i]),
                                                      collection_, first);
      }
      out.push_back({entries[i], std::move(collector), std::move(databases)});
    }
    return out;
  }

  std::optional<config::Config> TakePending() {
    const core::MutexLock lock(pending_mu_);
    return std::exchange(pending_, std::nullopt);
  }

  void Wake() {
    const uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof one) < 0) {
      // The loop also wakes within a second on its own.
    }
  }

  void Deliver(std::shared_ptr<const TargetResult> result) {
    if (result) sink_(std::move(result));
  }

  Sink sink_;
  int wake_fd_;
  std::atomic<bool> stop_{false};
  std::shared_ptr<const std::vector<config::QuerySpec>> queries_;  // loop thread only
  config::CollectionConfig collection_;                            // loop thread only
  std::vector<Member> members_;                                    // loop thread only
  core::Mutex pending_mu_;
  std::optional<config::Config> pending_ PGDR_GUARDED_BY(pending_mu_);
};

CollectionLoop::CollectionLoop(const config::Config& config, Sink sink)
    : impl_(std::make_unique<Impl>(config, std::move(sink))) {}
CollectionLoop::~CollectionLoop() = default;
void CollectionLoop::Run() { impl_->Run(); }
void CollectionLoop::Stop() { impl_->Stop(); }
void CollectionLoop::Reconfigure(const config::Config& config) { impl_->Reconfigure(config); }

}  // namespace pgdr::collect

#include <algorithm>
#include <cstdio>
#include <utility>

#include "pgdr/core/log.h"
#include "pgdr/leader/leader_election.h"

namespace pgdr::leader {

namespace {

std::string Seconds(milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

}  // namespace

std::unique_ptr<LeaderElector> LeaderElector::Create(const config::LeaderElectionConfig& config) {
  if (config.store == config::LeaseStore::kKubernetes) {
    const auto& k = config.kubernetes;
    return std::make_unique<LeaderElector>(
        MakeKubernetesBackend(k, config.identity),
        ElectorTiming{k.renew_interval, k.retry_interval, k.fencing_margin}, config.identity);
  }
  return std::make_unique<LeaderElector>(
      MakeEtcdBackend(config.etcd, config.identity),
      ElectorTiming{config.etcd.renew_interval, config.etcd.retry_interval,
                    config.etcd.fencing_margin},
      config.identity);
}

LeaderElector::LeaderElector(std::unique_ptr<LeaseBackend> backend, ElectorTiming timing,
                             std::string identity)
    : backend_(std::move(backend)), timing_(timing), identity_(std::move(identity)) {}

LeaderElector::~LeaderElector() { Stop(); }

void LeaderElector::Start() {
  const core::MutexLock lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void LeaderElector::Stop() {
  {
    const core::MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  bool held = false;
  {
    const core::MutexLock lock(mu_);
    held = held_;
    held_ = false;
  }
  if (held) {
    backend_->Release();
    core::Log(
        core::LogLevel::kWarn, "leader lease released: stopped acting",
        {{"backend", backend_->backend()}, {"lock", backend_->lock()}, {"identity", identity_}});
  }
}

bool LeaderElector::MayAct(std::string* why) const {
  const core::MutexLock lock(mu_);
  if (!held_) {
    if (why) *why = holder_.empty() ? "not the lease holder" : "the lease is held by " + holder_;
    return false;
  }
  if (SteadyClock::now() >= valid_until_) {
    if (why) *why = "fenced: the lease was not renewed in time";
    return false;
  }
  return true;
}

bool LeaderElector::WaitFor(SteadyClock::time_point until) {
  core::MutexLock lock(mu_);
  while (!stop_ && SteadyClock::now() < until) cv_.wait_until(lock, until);
  return !stop_;
}

void LeaderElector::Loop() {
  while (true) {
    bool held = false;
    {
      const core::MutexLock lock(mu_);
      if (stop_) return;
      held = held_;
    }
    if (held) {
      Renew();
    } else {
      Acquire();
      if (!WaitFor(SteadyClock::now() + timing_.retry_interval)) return;
    }
  }
}

void LeaderElector::Acquire() {
  const auto sent = SteadyClock::now();
  auto attempt = backend_->TryAcquire();
  const core::MutexLock lock(mu_);
  if (!attempt.ok()) {
    acquire_failures_ += 1;
    if (attempt.status().message() != last_error_) {
      last_error_ = attempt.status().message();
      core::Log(
          core::LogLevel::kWarn, "leader lease: acquisition failed",
          {{"backend", backend_->backend()}, {"lock", backend_->lock()}, {"error", last_error_}});
    }
    return;
  }
  last_error_.clear();
  if (!attempt->acquired) {
    if (attempt->holder != holder_) {
      holder_ = attempt->holder;
      core::Log(core::LogLevel::kInfo, "leader lease held by another replica: not acting",
                {{"backend", backend_->backend()},
                 {"lock", backend_->lock()},
                 {"identity", identity_},
                 {"holder", holder_}});
    }
    return;
  }
  held_ = true;
  holder_ = identity_;
  next_renew_ = sent + timing_.renew_interval;
  valid_until_ = sent + attempt->ttl - timing_.fencing_margin;
  acquisitions_ += 1;
  core::Log(core::LogLevel::kWarn, "leader lease acquired: acting",
            {{"backend", backend_->backend()},
             {"lock", backend_->lock()},
             {"identity", identity_},
             {"ttl_seconds", Seconds(attempt->ttl)},
             {"acting_for_seconds", Seconds(attempt->ttl - timing_.fencing_margin)}});
}

void LeaderElector::Renew() {
  SteadyClock::time_point until;
  {
    const core::MutexLock lock(mu_);
    until = valid_until_;
  }
  // The next keepalive, or the fencing deadline if that comes first.
  if (!WaitFor(std::min(until, next_renew_))) return;
  if (SteadyClock::now() >= until) {
    Lose("leader lease fenced: stopped acting before the lease can expire",
         "no successful keepalive in time");
    return;
  }
  const auto sent = SteadyClock::now();
  auto ttl = backend_->Renew();
  const auto answered = SteadyClock::now();
  if (ttl.ok()) {
    if (answered >= until) {
      // Renewed, but only after this replica had stopped acting: it keeps
      // to what MayAct() said and starts over.
      Lose("leader lease fenced: stopped acting before the lease can expire",
           "the keepalive was answered after the fencing deadline");
      return;
    }
    next_renew_ = sent + timing_.renew_interval;
    const core::MutexLock lock(mu_);
    valid_until_ = sent + *ttl - timing_.fencing_margin;
    last_error_.clear();
    return;
  }
  if (ttl.status().code() == core::Status::Code::kNotFound) {
    Lose("leader lease lost: stopped acting", ttl.status().message());
    return;
  }
  {
    const core::MutexLock lock(mu_);
    keepalive_failures_ += 1;
    if (ttl.status().message() != last_error_) {
      last_error_ = ttl.status().message();
      const auto left = std::chrono::duration_cast<milliseconds>(until - answered);
      core::Log(core::LogLevel::kWarn, "leader lease keepalive failed",
                {{"backend", backend_->backend()},
                 {"lock", backend_->lock()},
                 {"error", last_error_},
                 {"acting_for_seconds", Seconds(left)}});
    }
  }
  // Retry soon: within the renew interval (the wait above stops at the deadline).
  next_renew_ = answered + std::min(timing_.renew_interval, milliseconds(500));
}

void LeaderElector::Lose(const std::string& what, const std::string& reason) {
  {
    const core::MutexLock lock(mu_);
    held_ = false;
    holder_.clear();
    losses_ += 1;
  }
  core::Log(core::LogLevel::kWarn, what,
            {{"backend", backend_->backend()},
             {"lock", backend_->lock()},
             {"identity", identity_},
             {"reason", reason}});
  backend_->Release();
}

void LeaderElector::CollectMetrics(core::MetricSet& out) const {
  const core::MutexLock lock(mu_);
  const auto now = SteadyClock::now();
  const bool acting = held_ && now < valid_until_;
  const core::Labels labels{
      {"backend", backend_->backend()}, {"lock", backend_->lock()}, {"identity", identity_}};
  out.Gauge("pgdr_leader",
            "1 while this replica holds the leader lease and may act (inside its lease minus the "
            "fencing margin), else 0.",
            labels, acting ? 1 : 0);
  out.Gauge("pgdr_leader_lease_remaining_seconds",
            "Time this replica may still act without a successful renewal (0 when not acting).",
            labels, acting ? std::chrono::duration<double>(valid_until_ - now).count() : 0.0);
  out.Counter("pgdr_leader_acquisitions_total", "Times this replica acquired the leader lease.",
              labels, acquisitions_);
  out.Counter("pgdr_leader_losses_total",
              "Times this replica stopped holding the lease (fenced, lost or expired; not a clean "
              "shutdown).",
              labels, losses_);
  out.Counter("pgdr_leader_keepalive_failures_total",
              "Lease renewals that failed (transport error or bad answer) while holding it.",
              labels, keepalive_failures_);
  out.Counter("pgdr_leader_acquire_failures_total",
              "Acquisition attempts that failed (the lease store could not be asked).", labels,
              acquire_failures_);
}

}  // namespace pgdr::leader

// Leader election among exporter replicas: only the lease holder acts.
//
// Why: several pgdr replicas watching one cluster (for pgdr's own high
// availability) must not all promote a replica or page a webhook. Every
// replica keeps collecting and evaluating; the action engine asks an
// ActingGate before each failover, redirect, webhook or exec action and
// before each regional promotion, and a replica that is not the holder
// records "not_leader" instead of acting.
//
// Fencing by lease time: the holder measures its lease from the moment it
// *sent* the request that granted or renewed it (never from the answer), so
// its own deadline, sent + TTL - fencing_margin, falls before the store can
// expire the lease and let another replica take it. MayAct() turns false at
// that deadline even if the elector's thread is blocked in a request; the
// thread then logs the fencing and gives the lease up.
//
// A LeaseBackend is one store of leases (an etcd lease, or a Kubernetes
// coordination.k8s.io/v1 Lease). It is called from the elector's thread
// only.
//
// Thread-safety: LeaderElector's public methods are safe from any thread;
// MayAct() never blocks on the network.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <string>
#include <thread>

#include "pgdr/config/leader_election_config.h"
#include "pgdr/core/metric_set.h"
#include "pgdr/core/mutex.h"
#include "pgdr/core/status.h"

namespace pgdr::leader {

using std::chrono::milliseconds;

// What the action engine asks before it acts.
class ActingGate {
 public:
  virtual ~ActingGate() = default;
  // True while this replica may act; otherwise false, and `why` (when
  // non-null) says why in a few words for the decision log.
  virtual bool MayAct(std::string* why) const = 0;
};

class LeaseBackend {
 public:
  struct Attempt {
    bool acquired = false;
    std::string holder;  // when not acquired: who holds it ("" if unknown)
    milliseconds ttl{};  // when acquired: the TTL the store granted
  };
  virtual ~LeaseBackend() = default;
  // Takes the lease for this replica if nobody holds it. An error is a
  // failed request (nothing is known about the holder).
  virtual core::Result<Attempt> TryAcquire() = 0;
  // Renews the held lease; the TTL the store granted again. NotFound: the
  // lease is gone (expired or revoked) and must be acquired anew.
  virtual core::Result<milliseconds> Renew() = 0;
  // Gives the held lease up (clean shutdown, or after fencing); the next
  // TryAcquire starts from nothing.
  virtual void Release() = 0;
  virtual std::string backend() const = 0;  // "etcd", "kubernetes": the `backend` label
  virtual std::string lock() const = 0;     // the key or Lease name: the `lock` label
};

// The etcd v3 driver, through etcd's JSON gateway over the libcurl client.
std::unique_ptr<LeaseBackend> MakeEtcdBackend(const config::EtcdLeaseConfig& config,
                                              const std::string& identity);

// A coordination.k8s.io/v1 Lease through the Kubernetes API, with
// client-go's semantics (kubernetes_lease.cc).
std::unique_ptr<LeaseBackend> MakeKubernetesBackend(const config::KubernetesLeaseConfig& config,
                                                    const std::string& identity);

struct ElectorTiming {
  milliseconds renew_interval{5000};
  milliseconds retry_interval{2000};
  milliseconds fencing_margin{2000};
};

class LeaderElector : public ActingGate {
 public:
  static std::unique_ptr<LeaderElector> Create(const config::LeaderElectionConfig& config);
  LeaderElector(std::unique_ptr<LeaseBackend> backend, ElectorTiming timing, std::string identity);
  ~LeaderElector() override;  // Stop()
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // Starts the elector's thread; idempotent.
  void Start();
  // Stops it; a held lease is released so another replica takes over at once.
  void Stop();

  bool MayAct(std::string* why) const override;
  const std::string& identity() const { return identity_; }
  std::string backend() const { return backend_->backend(); }
  std::string lock() const { return backend_->lock(); }

  // pgdr_leader, pgdr_leader_lease_remaining_seconds and the counters.
  void CollectMetrics(core::MetricSet& out) const;

 private:
  using SteadyClock = std::chrono::steady_clock;
  void Loop();
  void Acquire();
  void Renew();
  // Drops the lease: counts a loss and logs `what` with `reason`.
  void Lose(const std::string& what, const std::string& reason);
  bool WaitFor(SteadyClock::time_point until);  // false when stopping

  const std::unique_ptr<LeaseBackend> backend_;
  const ElectorTiming timing_;
  const std::string identity_;

  mutable core::Mutex mu_;
  std::condition_variable_any cv_;
  bool stop_ PGDR_GUARDED_BY(mu_) = false;
  bool held_ PGDR_GUARDED_BY(mu_) = false;
  SteadyClock::time_point valid_until_ PGDR_GUARDED_BY(mu_){};
  std::string holder_ PGDR_GUARDED_BY(mu_);      // the last holder seen, for logs
  std::string last_error_ PGDR_GUARDED_BY(mu_);  // logged once per change
  double acquisitions_ PGDR_GUARDED_BY(mu_) = 0;
  double losses_ PGDR_GUARDED_BY(mu_) = 0;
  double keepalive_failures_ PGDR_GUARDED_BY(mu_) = 0;
  double acquire_failures_ PGDR_GUARDED_BY(mu_) = 0;
  SteadyClock::time_point next_renew_{};  // the elector's thread only
  std::thread thread_;
};

}  // namespace pgdr::leader

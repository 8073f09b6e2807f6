// ReadPoolRouter: which replica a PgBouncer read database should point at.
//
// Debian's PgBouncer (1.18) has no load_balance_hosts, so a read pool is one
// host: the freshest admitted replica. A replica is admitted while its lag
// stays within the config's max_lag_*; once it passes them it is dropped at
// once, and readmitted only after its lag has stayed within readmit_lag_*
// for readmit_after (hysteresis). The pooler keeps its current replica while
// that one is still admitted, even when another is fresher, so healthy
// replicas never flap the pooler. With no replica admitted it falls back to
// the cluster's primary (fallback: primary) or stays as it is (none).
//
// Every decision comes from a snapshot (collect/member_health.h); nothing
// here queries a server. ReadPoolRouter is pure logic: read_pool_runner.h
// applies its choices.
//
// Thread-safety: none; one owner.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "pgdr/collect/member_health.h"
#include "pgdr/config/read_pool_config.h"

namespace pgdr::actions {

class ReadPoolRouter {
 public:
  ReadPoolRouter(std::string cluster, config::ReadPoolConfig config)
      : cluster_(std::move(cluster)), config_(std::move(config)) {}

  // Updates admissions from `members` (every member of the snapshot; other
  // clusters' are ignored) and returns the member the database should point
  // at: the current one while admitted, else the freshest admitted replica,
  // else the fallback; empty when there is none (leave the pooler as is).
  std::string Decide(const std::vector<collect::MemberHealth>& members,
                     std::chrono::steady_clock::time_point now);

  // The member the pooler now points at, once applied (Applied), or empty.
  const std::string& current() const { return current_; }
  void Applied(const std::string& member) { current_ = member; }

  // Every candidate replica seen, and whether it is admitted.
  const std::map<std::string, bool>& admitted() const { return admitted_; }
  const config::ReadPoolConfig& config() const { return config_; }
  const std::string& cluster() const { return cluster_; }

 private:
  bool Candidate(const collect::MemberHealth& m) const;

  std::string cluster_;
  config::ReadPoolConfig config_;
  std::map<std::string, bool> admitted_;
  std::map<std::string, std::chrono::steady_clock::time_point> fresh_since_;  // not admitted
  std::string current_;
  bool first_ = true;  // the first decision admits every replica within the bounds at once
};

}  // namespace pgdr::actions

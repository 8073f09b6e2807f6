// PoolerCollector: collects a PgBouncer's admin console (SHOW POOLS) over one
// persistent, non-blocking connection (an AsyncConnection, with the members'
// connect deadline and backoff). The admin console speaks only the simple
// query protocol and refuses startup options, so it has its own small state
// machine rather than the pipelined TargetCollector.
//
// Metrics: pgdr_pgbouncer_up{pooler}, pgdr_pgbouncer_clients{database,user,state},
// pgdr_pgbouncer_servers{database,user,state}, pgdr_pgbouncer_max_wait_seconds{database,user}.
//
// Thread-safety: none; belongs to the collection thread.
#pragma once

#include "collect/async_connection.h"
#include "collect/polled_collector.h"
#include "collect/sample_clock.h"
#include "pgdr/collect/pg_handle.h"
#include "pgdr/config/config.h"

namespace pgdr::collect {

class PoolerCollector final : public PolledCollector {
 public:
  PoolerCollector(config::PgBouncerConfig pooler, config::CollectionConfig options,
                  SteadyClock::time_point first_start);

  int socket() const override;
  short poll_events() const override { return want_events_; }
  SteadyClock::time_point wake_at() const override;
  bool connected() const override { return conn_.open() && state_ != State::kConnecting; }
  std::shared_ptr<const TargetResult> Step(SteadyClock::time_point now, short revents) override;

 private:
  enum class State { kIdle, kConnecting, kQuerying };
  void Fail(const std::string& why, SteadyClock::time_point now);
  void SendShowPools(SteadyClock::time_point now);
  void ReadPools(SteadyClock::time_point now);
  void Finish(SteadyClock::time_point now, bool up);

  const config::PgBouncerConfig pooler_;
  const config::CollectionConfig options_;
  core::Labels labels_;
  AsyncConnection conn_;
  PgResultPtr pools_;
  State state_ = State::kIdle;
  short want_events_ = 0;
  SteadyClock::time_point next_start_;
  SteadyClock::time_point deadline_;
  SteadyClock::time_point cycle_start_;
  SampleClock sample_clock_;
  std::chrono::system_clock::time_point sample_at_;  // TargetResult::sample_at
  std::string error_;
  bool cycle_done_ = false;
  double errors_total_ = 0;
  std::shared_ptr<const TargetResult> finished_;
};

}  // namespace pgdr::collect

#include "collect/pooler_collector.h"

#include <poll.h>

#include <algorithm>

#include "collect/sql_metrics.h"
#include "pgdr/core/log.h"

namespace pgdr::collect {
namespace {

std::optional<double> Number(const PGresult* r, int row, const char* column) {
  const int col = PQfnumber(r, column);
  if (col < 0 || PQgetisnull(r, row, col)) return std::nullopt;
  double v = 0;
  if (!ParsePgNumber(PQgetvalue(r, row, col), &v)) return std::nullopt;
  return v;
}

std::string Text(const PGresult* r, int row, const char* column) {
  const int col = PQfnumber(r, column);
  return col < 0 ? std::string() : std::string(PQgetvalue(r, row, col));
}

}  // namespace

PoolerCollector::PoolerCollector(config::PgBouncerConfig pooler, config::CollectionConfig options,
                                 SteadyClock::time_point first_start)
    : pooler_(std::move(pooler)),
      options_(options),
      conn_({.dsn = pooler_.dsn,
             .password_env = pooler_.password_env,
             .password_file = pooler_.password_file,
             .server_options = "",
             .database = "",
             .connect_timeout = options_.connect_timeout,
             .max_backoff = options_.max_backoff}),
      next_start_(first_start) {
  if (!pooler_.cluster.empty()) labels_.push_back({"cluster", pooler_.cluster});
  labels_.push_back({"pooler", pooler_.name});
}

int PoolerCollector::socket() const { return state_ != State::kIdle ? conn_.socket() : -1; }

SteadyClock::time_point PoolerCollector::wake_at() const {
  return state_ == State::kIdle ? next_start_ : deadline_;
}

std::shared_ptr<const TargetResult> PoolerCollector::Step(SteadyClock::time_point now,
                                                          short revents) {
  finished_.reset();
  if (state_ == State::kIdle) {
    if (now < next_start_) return nullptr;
    cycle_start_ = now;
    deadline_ = now + options_.target_deadline;
    sample_at_ = sample_clock_.StartCycle(next_start_, options_.interval, now);
    error_.clear();
    if (conn_.open()) {
      SendShowPools(now);
    } else if (conn_.backing_off(now)) {
      error_ = "waiting to reconnect";
      Finish(now, false);
      return std::move(finished_);
    } else {
      const bool started = conn_.Start(now);
      state_ = State::kConnecting;
      want_events_ = conn_.connect_events();
      deadline_ = std::min(deadline_, conn_.connect_deadline());
      if (!started) Fail(conn_.ErrorText(), now);
    }
  } else if (state_ == State::kConnecting && revents != 0) {
    switch (conn_.Continue()) {
      case AsyncConnection::Progress::kConnecting:
        want_events_ = conn_.connect_events();
        break;
      case AsyncConnection::Progress::kReady:
        SendShowPools(now);
        break;
      case AsyncConnection::Progress::kFailed:
        Fail(conn_.ErrorText(), now);
        break;
    }
  } else if (state_ == State::kQuerying) {
    ReadPools(now);
  }
  if (state_ != State::kIdle && now >= deadline_) Fail("deadline exceeded", now);
  if (cycle_done_) {
    cycle_done_ = false;
    Finish(now, pools_ != nullptr && error_.empty());
  }
  return std::move(finished_);
}

void PoolerCollector::SendShowPools(SteadyClock::time_point now) {
  state_ = State::kQuerying;
  pools_.reset();
  if (PQsendQuery(conn_.get(), "SHOW POOLS;") != 1) {
    Fail(conn_.ErrorText(), now);
    return;
  }
  want_events_ = PQflush(conn_.get()) == 1 ? (POLLIN | POLLOUT) : POLLIN;
}

void PoolerCollector::ReadPools(SteadyClock::time_point now) {
  if (PQflush(conn_.get()) == 1) return;
  want_events_ = POLLIN;
  if (PQconsumeInput(conn_.get()) != 1) {
    Fail(conn_.ErrorText(), now);
    return;
  }
  while (!PQisBusy(conn_.get())) {
    PgResultPtr r(PQgetResult(conn_.get()));
    if (!r) {
      state_ = State::kIdle;
      want_events_ = 0;
      cycle_done_ = true;
      if (!pools_ && error_.empty()) error_ = "SHOW POOLS returned nothing";
      return;
    }
    if (PQresultStatus(r.get()) == PGRES_TUPLES_OK) {
      pools_ = std::move(r);
    } else {
      error_ = PQresultErrorMessage(r.get());
    }
  }
}

void PoolerCollector::Fail(const std::string& why, SteadyClock::time_point now) {
  error_ = why;
  errors_total_ += 1;
  conn_.Fail(why, now);
  pools_.reset();
  state_ = State::kIdle;
  want_events_ = 0;
  cycle_done_ = true;
  core::Log(core::LogLevel::kWarn, "pgbouncer collection failed",
            {{"pooler", pooler_.name}, {"err", why}});
}

void PoolerCollector::Finish(SteadyClock::time_point now, bool up) {
  core::MetricSet m;
  m.Gauge("pgdr_pgbouncer_up", "Whether the PgBouncer admin console answered SHOW POOLS.", labels_,
          up ? 1 : 0);
  m.Counter("pgdr_pgbouncer_collect_errors_total", "Failed collections of the PgBouncer.", labels_,
            errors_total_);
  if (up && pools_) {
    const PGresult* r = pools_.get();
    for (int i = 0; i < PQntuples(r); ++i) {
      core::Labels l = labels_;
      l.push_back({"database", Text(r, i, "database")});
      l.push_back({"user", Text(r, i, "user")});
      for (const auto& [column, state] :
           {std::pair<const char*, const char*>{"cl_active", "active"},
            {"cl_waiting", "waiting"}}) {
        if (auto v = Number(r, i, column)) {
          core::Labels s = l;
          s.push_back({"state", state});
          m.Gauge("pgdr_pgbouncer_clients", "Client connections by pool and state.", s, *v);
        }
      }
      for (const auto& [column, state] :
           {std::pair<const char*, const char*>{"sv_active", "active"},
            {"sv_idle", "idle"},
            {"sv_used", "used"},
            {"sv_tested", "tested"},
            {"sv_login", "login"}}) {
        if (auto v = Number(r, i, column)) {
          core::Labels s = l;
          s.push_back({"state", state});
          m.Gauge("pgdr_pgbouncer_servers", "Server connections by pool and state.", s, *v);
        }
      }
      const double wait =
          Number(r, i, "maxwait").value_or(0) + Number(r, i, "maxwait_us").value_or(0) / 1e6;
      m.Gauge("pgdr_pgbouncer_max_wait_seconds", "Age of the oldest waiting client of the pool.", l,
              wait);
    }
  }
  auto result = std::make_shared<TargetResult>();
  result->key = "pooler/" + pooler_.name;
  result->cluster = pooler_.cluster;
  result->member = pooler_.name;
  result->labels = labels_;
  result->facts.up = up;
  result->families = m.Take();
  result->error = error_;
  result->collected_at = std::chrono::system_clock::now();
  result->sample_at = sample_at_;
  result->duration_seconds = std::chrono::duration<double>(now - cycle_start_).count();
  pools_.reset();
  finished_ = std::move(result);
}

}  // namespace pgdr::collect

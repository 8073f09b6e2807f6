// AsyncConnection: one persistent, non-blocking libpq connection and its
// reconnect schedule, shared by the collectors that the CollectionLoop drives
// (TargetCollector, PoolerCollector) so that connecting, polling the connect
// and backing off exist once.
//
// The password is resolved at every connect (a rotated secret is picked up on
// the next reconnect). A failed connection is retried after 1 s, doubling up
// to `max_backoff`; a successful connect resets that. The connect's deadline
// (now + connect_timeout) is the owner's to enforce: it folds it into its own
// cycle deadline and decides what the failure is called.
//
// Thread-safety: none; belongs to the collection thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "pgdr/collect/pg_handle.h"

namespace pgdr::collect {

class AsyncConnection {
 public:
  using Clock = std::chrono::steady_clock;
  struct Params {
    std::string dsn;
    std::optional<std::string> password_env;
    std::optional<std::string> password_file;
    std::string server_options;  // empty: none (PgBouncer's console refuses them)
    std::string database;        // empty: the DSN's; else this database instead
    Clock::duration connect_timeout{};
    Clock::duration max_backoff{};
  };
  enum class Progress { kConnecting, kReady, kFailed };

  explicit AsyncConnection(Params params) : params_(std::move(params)) {}

  // Starts a non-blocking connect; false when it failed at once (ErrorText()).
  // The caller checks backing_off() first.
  bool Start(Clock::time_point now);
  // One PQconnectPoll() step, after the socket was ready for connect_events().
  // kReady: the connection is non-blocking and the backoff is reset.
  Progress Continue();
  // Drops the connection; the next Start() is due after the grown backoff.
  void Fail(const std::string& why, Clock::time_point now);
  // Drops the connection without touching the backoff (the member answered).
  void Close() { conn_.reset(); }

  bool open() const { return conn_ != nullptr; }
  PGconn* get() const { return conn_.get(); }
  int socket() const { return conn_ ? PQsocket(conn_.get()) : -1; }
  // The poll() events PQconnectPoll() waits for while connecting.
  short connect_events() const { return connect_events_; }
  Clock::time_point connect_deadline() const { return connect_deadline_; }
  bool backing_off(Clock::time_point now) const { return now < retry_at_; }
  // Why the last connection failed (Fail()'s `why`).
  const std::string& last_error() const { return last_error_; }
  // libpq's message for the current connection, or "not connected".
  std::string ErrorText() const;
  double connects_total() const { return connects_total_; }

 private:
  const Params params_;
  PgConnPtr conn_;
  short connect_events_ = 0;
  Clock::time_point connect_deadline_{};
  Clock::time_point retry_at_{};
  Clock::duration backoff_{};
  std::string last_error_;
  double connects_total_ = 0;
};

}  // namespace pgdr::collect

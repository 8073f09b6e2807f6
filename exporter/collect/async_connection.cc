#include "collect/async_connection.h"

#include <poll.h>

#include <algorithm>

#include "pgdr/collect/pg_connect.h"

namespace pgdr::collect {

bool AsyncConnection::Start(Clock::time_point now) {
  conn_ = StartConnection(params_.dsn, ResolvePassword(params_.password_env, params_.password_file),
                          params_.server_options, params_.database);
  ++connects_total_;
  connect_deadline_ = now + params_.connect_timeout;
  connect_events_ = POLLOUT;  // libpq: the first wait after PQconnectStart is for writing
  return PQstatus(conn_.get()) != CONNECTION_BAD;
}

AsyncConnection::Progress AsyncConnection::Continue() {
  switch (PQconnectPoll(conn_.get())) {
    case PGRES_POLLING_READING:
      connect_events_ = POLLIN;
      return Progress::kConnecting;
    case PGRES_POLLING_WRITING:
      connect_events_ = POLLOUT;
      return Progress::kConnecting;
    case PGRES_POLLING_OK:
      break;
    default:
      return Progress::kFailed;
  }
  if (PQsetnonblocking(conn_.get(), 1) != 0) return Progress::kFailed;
  backoff_ = Clock::duration::zero();
  return Progress::kReady;
}

void AsyncConnection::Fail(const std::string& why, Clock::time_point now) {
  conn_.reset();
  last_error_ = why;
  backoff_ = backoff_ == Clock::duration::zero()
                 ? std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(1))
                 : std::min<Clock::duration>(backoff_ * 2, params_.max_backoff);
  retry_at_ = now + backoff_;
}

std::string AsyncConnection::ErrorText() const {
  return conn_ ? ConnectionErrorText(conn_.get()) : std::string("not connected");
}

}  // namespace pgdr::collect

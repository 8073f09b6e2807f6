// Short-lived blocking libpq sessions for the actions: connect with a
// connect timeout (and a server statement timeout), run one statement, read
// its first cell. Shared by the promotion building blocks (providers.cc)
// and the switchover and rejoin procedures, which all need the same
// bounded, password-safe connection and nothing more.
//
// Thread-safety: free functions without shared state.
#pragma once

#include <chrono>
#include <string>

#include "pgdr/collect/pg_handle.h"
#include "pgdr/core/status.h"

namespace pgdr::actions {

// A connection to `dsn` (password passed separately, never in messages)
// whose connect is bounded by `timeout`. `with_statement_timeout` adds
// `-c statement_timeout=timeout+5s`; false for PgBouncer's admin console,
// which refuses the options parameter.
core::Result<collect::PgConnPtr> Connect(const std::string& dsn, const std::string& password,
                                         std::chrono::milliseconds timeout,
                                         bool with_statement_timeout);

// Runs one statement; returns the first cell of the first row ("" when none).
core::Result<std::string> Query(PGconn* conn, const std::string& sql);

// As Query, but gives up after `timeout` (the statement is cancelled): for
// PgBouncer's PAUSE, which blocks until the pool's transactions end and
// has no statement timeout of its own.
core::Result<std::string> QueryWithin(PGconn* conn, const std::string& sql,
                                      std::chrono::milliseconds timeout);

}  // namespace pgdr::actions

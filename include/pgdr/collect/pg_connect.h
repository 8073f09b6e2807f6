// Starting non-blocking libpq connections the same way for every kind of
// target: the password comes from an env var or a file at connect time (never
// from the YAML, never logged), and server options ride in the startup packet.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "pgdr/collect/pg_handle.h"
#include "pgdr/core/status.h"

namespace pgdr::collect {

// The password from `env` or `file` (trailing newline removed); empty if neither.
std::string ResolvePassword(const std::optional<std::string>& env,
                            const std::optional<std::string>& file);

// PQconnectStartParams with the DSN expanded; `server_options` may be empty
// (PgBouncer's admin console refuses the options parameter); a non-empty
// `database` replaces the DSN's (a member's per-database connections, whose
// application_name is pgdr_exporter_db rather than pgdr_exporter). Never null.
PgConnPtr StartConnection(const std::string& dsn, const std::string& password,
                          const std::string& server_options, const std::string& database = "");

// libpq's error text for the connection, trailing newline removed.
std::string ConnectionErrorText(const PGconn* conn);

// A blocking connection for one-off work (actions, restores), never for
// collection: connect_timeout from `timeout`, and with
// `with_statement_timeout` a server-side statement_timeout of timeout + 5s.
core::Result<PgConnPtr> ConnectBlocking(const std::string& dsn, const std::string& password,
                                        std::chrono::milliseconds timeout,
                                        std::string_view application_name,
                                        bool with_statement_timeout);

// Runs one statement; the first cell of the first row ("" when none).
core::Result<std::string> QueryValue(PGconn* conn, const std::string& sql);

// Runs one statement; every row as psql -At prints it (cells joined by '|',
// rows by '\n', NULL as ""), so that expected results can be written as text.
core::Result<std::string> QueryText(PGconn* conn, const std::string& sql);

}  // namespace pgdr::collect

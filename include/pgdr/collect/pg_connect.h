// Starting non-blocking libpq connections the same way for every kind of
// target: the password comes from an env var or a file at connect time (never
// from the YAML, never logged), and server options ride in the startup packet.
#pragma once

#include <optional>
#include <string>

#include "pgdr/collect/pg_handle.h"

namespace pgdr::collect {

// The password from `env` or `file` (trailing newline removed); empty if neither.
std::string ResolvePassword(const std::optional<std::string>& env,
                            const std::optional<std::string>& file);

// PQconnectStartParams with the DSN expanded; `server_options` may be empty
// (PgBouncer's admin console refuses the options parameter). Never null.
PgConnPtr StartConnection(const std::string& dsn, const std::string& password,
                          const std::string& server_options);

// libpq's error text for the connection, trailing newline removed.
std::string ConnectionErrorText(const PGconn* conn);

}  // namespace pgdr::collect

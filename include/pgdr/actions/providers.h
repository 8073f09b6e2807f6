// The building blocks of the actions: promote a replica with pg_promote(),
// repoint the other replicas, repoint a PgBouncer, run a user command. The
// failover providers (provider.h) and the redirect and exec actions are made
// of them. Each call blocks for at most its timeout, so the ActionEngine runs
// them on its worker thread, never on the evaluator's.
//
// Every database call uses its own short-lived libpq connection with a
// connect timeout and a statement timeout; passwords are resolved when the
// config is loaded (collect::ResolvePassword) and never appear in returned
// messages.
//
// Thread-safety: free functions without shared state; safe from any thread.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pgdr/core/status.h"

namespace pgdr::actions {

// How to reach one PostgreSQL member (from its target config).
struct PgEndpoint {
  std::string member;
  std::string dsn;
  std::string password;  // resolved from password_env/password_file; may be empty
};

// Runs `SELECT pg_promote(wait => true, wait_seconds => timeout)` on the
// replica, then checks pg_is_in_recovery() is false on a new connection.
core::Status PromoteReplica(const PgEndpoint& replica, std::chrono::milliseconds timeout);

// Points a replica at a new primary: reads its primary_conninfo, replaces
// host/hostaddr/port with `primary_host`/`primary_port` (keeping user,
// password file, application_name...), ALTER SYSTEM SET primary_conninfo and
// pg_reload_conf(). recovery_target_timeline 'latest' (the default) lets the
// replica follow the new timeline.
core::Status RepointReplica(const PgEndpoint& replica, const std::string& primary_host,
                            const std::string& primary_port, std::chrono::milliseconds timeout);

// Replaces host/hostaddr/port in a libpq key=value connection string (a
// primary_conninfo or a PgBouncer [databases] entry); keys are kept in order
// and added at the end when missing. Exposed for tests.
std::string RewriteConninfo(const std::string& conninfo, const std::string& host,
                            const std::string& port);

// A PgBouncer to repoint.
struct PoolerEndpoint {
  std::string name;
  std::string admin_dsn;  // the admin console ("... dbname=pgbouncer user=...")
  std::string password;
  std::string databases_file;          // the include file holding the [databases] entries
  std::vector<std::string> databases;  // entries to rewrite; empty: every entry
  bool reconnect = true;               // RECONNECT after RELOAD
};

// A libpq URI ("postgresql://u@h:5432/db?application_name=x") as key=value
// pairs; other text is returned unchanged. Exposed for tests.
std::string UriToKeywords(const std::string& conninfo);

// Rewrites the entries of a [databases] file (`name = connstr` lines) so they
// point at host:port; other lines are kept byte for byte. Returns the new
// text and how many entries changed. Exposed for tests.
std::string RewriteDatabasesFile(const std::string& text, const std::string& host,
                                 const std::string& port, const std::vector<std::string>& databases,
                                 int* changed);

// Rewrites the databases file (atomically: temp file + rename), then RELOAD
// and (optionally) RECONNECT through the admin console.
core::Status RedirectPooler(const PoolerEndpoint& pooler, const std::string& host,
                            const std::string& port, std::chrono::milliseconds timeout);

// Runs argv[0] with argv (no shell) and `env` added to the environment;
// kills it (SIGKILL to its process group) after `timeout`. OK on exit 0.
// With `output`, its stdout and stderr are collected there (the first 64 KiB;
// on failure too: pg_ctl and pg_rewind say why there), else inherited.
core::Status RunCommand(const std::vector<std::string>& argv,
                        const std::map<std::string, std::string>& env,
                        std::chrono::milliseconds timeout, std::string* output = nullptr);

// "host:port" split at the last colon; port "5432" when there is none.
std::pair<std::string, std::string> SplitHostPort(const std::string& address);

// Labels (or annotations) as one JSON object: how a command's environment
// carries them (PGDR_ALERT_LABELS).
std::string LabelsJson(const std::map<std::string, std::string>& labels);

}  // namespace pgdr::actions

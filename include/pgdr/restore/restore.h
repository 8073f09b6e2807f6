// Restoring a copy of a cluster from its backup store to a point in time,
// into a scratch data directory, started as a scratch PostgreSQL on a local
// port — the data-corruption scenario ("restore to just before the bad
// transaction") and the restore drills that prove backups restore.
//
// Why one engine and small drivers: choosing the base backup, checking the
// WAL chain, starting the server, waiting for recovery, verifying and
// cleaning up are the same whatever wrote the backup; only fetching the base
// backup and the restore_command differ (barman-cloud, pgBackRest) — or, for
// pg_dump files, the initdb before and the load after the server starts. Every
// step is bounded by its own timeout, and a failure names the step, the
// store and the object, with a short `result` code that drills export.
//
// Safety: a restore only reads the store and only writes below its scratch
// data directory, which must be absent or empty. The scratch server never
// archives (archive_mode=off), never follows a primary (primary_conninfo
// cleared, standby.signal removed) and listens on 127.0.0.1 and a socket in
// its own 0700 data directory only. Credentials reach the tools through the
// environment, never a command line or a log line.
//
// Thread-safety: RunRestore() blocks its caller and shares nothing; several
// may run at once in different directories and ports.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "pgdr/core/status.h"
#include "pgdr/store/archive.h"

namespace pgdr::restore {

using std::chrono::milliseconds;

// Where recovery stops. `inclusive` is recovery_target_inclusive: false stops
// just before the target xid/time/LSN (--before-xid, --before-time).
struct RecoveryTarget {
  enum class Kind { kLatest, kImmediate, kTime, kXid, kLsn };
  Kind kind = Kind::kLatest;
  std::string value;  // kTime: RFC 3339 or PostgreSQL timestamp text; kXid: number; kLsn: X/Y
  bool inclusive = true;
  std::string action = "promote";  // recovery_target_action: promote or pause

  std::string Describe() const;  // "xid 1234 (exclusive)" for logs and reports
};

// The recovery settings PostgreSQL reads (postgresql.auto.conf lines).
std::string RecoverySettings(const RecoveryTarget& target, const std::string& restore_command);

// A verification query and the text it must return (psql -At form: cells
// joined by '|', rows by '\n'); an empty `expect` only requires success.
// `compare_with_primary` expects what the same query returns on the
// cluster's primary at verification time: the primary cannot be read "as of"
// the recovered LSN, so this is meaningful only for rows the primary has not
// changed since that point (history, or a predicate bounded in time).
struct Verification {
  std::string sql;
  std::optional<std::string> expect;
  bool compare_with_primary = false;
};

struct StepTimeouts {
  milliseconds catalog{60000};   // reading the store's catalog and WAL listing
  milliseconds fetch{3600000};   // fetching the base backup
  milliseconds replay{3600000};  // from starting the server to reaching the target
  milliseconds verify{300000};   // all verification queries
  milliseconds stop{60000};      // stopping the scratch server
};

struct RestoreRequest {
  store::StoreSettings store;
  RecoveryTarget target;
  std::string data_dir;              // created; must be absent or empty
  int port = 0;                      // REQUIRES: a free local port
  bool keep_running = false;         // leave the server running (and the data directory)
  bool keep_data = false;            // stopped, but the data directory is kept
  std::string run_as;                // OS user for the tools and the server (runuser) when root
  std::string db_user = "postgres";  // the role verification queries connect as
  std::string db_name = "postgres";
  std::optional<double>
      max_disk_bytes;  // refuse a backup larger than this (or than the free space)
  std::vector<Verification> verify;
  StepTimeouts timeouts;
  std::string backup_id;  // empty: the newest completed backup that precedes the target
  std::string pg_bin = "/usr/lib/postgresql/15/bin";
  const std::atomic<bool>* cancel = nullptr;  // set: the restore ends as "cancelled"
  // The primary that compare_with_primary verifications query; an empty DSN
  // fails them (no primary answered).
  std::string primary_dsn, primary_password, primary_name;
};

struct RestoreReport {
  // "ok", or the cause: store_unreachable, no_backup, target_before_backup,
  // target_after_archive, wal_gap, disk_full, port_in_use, fetch_failed,
  // start_failed, target_not_reached, replay_timeout, load_failed,
  // unsupported_target (a dump has no WAL), verify_failed, verify_mismatch,
  // cancelled, internal.
  std::string result = "internal";
  std::string step;     // catalog, choose, check_wal, prepare, fetch, replay, load, verify, stop
  std::string object;   // what the failure was about: a store key, a file, a query
  std::string message;  // human-readable; never a credential
  std::string store, cluster;
  std::string backup_id;
  std::optional<double> backup_end_time;
  std::string first_segment, last_segment;  // the WAL the restore needs, as the store names it
  std::optional<uint64_t> recovered_lsn;
  std::optional<double> recovered_time;  // pg_last_xact_replay_timestamp(), Unix seconds
  uint64_t wal_replayed_bytes = 0;       // from the backup's start to the recovered LSN
  double fetch_seconds = 0, replay_seconds = 0, verify_seconds = 0, total_seconds = 0;
  std::string data_dir;
  int port = 0;
  bool running = false;                    // the server was left running
  double started_at = 0, finished_at = 0;  // Unix seconds

  bool ok() const { return result == "ok"; }
};

// Runs a whole restore; never throws. The report says what happened, ok or not.
RestoreReport RunRestore(const RestoreRequest& request);

// Stops a scratch server left running by RunRestore (pg_ctl stop -m fast).
core::Status StopScratchServer(const std::string& data_dir, const std::string& run_as,
                               const std::string& pg_bin, milliseconds timeout);

// The libpq connection string of a running scratch server.
std::string ScratchDsn(const std::string& data_dir, int port, const std::string& db_user,
                       const std::string& db_name);

// A free TCP port on 127.0.0.1 within [first, last], or NotFound.
core::Result<int> FindFreePort(int first, int last);

}  // namespace pgdr::restore

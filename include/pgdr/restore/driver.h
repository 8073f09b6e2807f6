// RestoreDriver: how one backup layout's base backup reaches a scratch data
// directory, and what restore_command brings its WAL back — or, for a
// logical backup, how a dump is loaded into a fresh scratch cluster.
//
// Why an interface: the engine (restore.h) is the same for every tool, and
// each tool fetches its own way — barman-cloud-restore and
// barman-cloud-wal-restore exactly as CloudNativePG recovers, `pgbackrest
// restore --type=...` which writes its recovery settings itself, and a
// pg_dump file fetched beside an initdb'd cluster and loaded with
// pg_restore or psql once that cluster runs.
//
// Thread-safety: a driver is used by one restore at a time.
// Ownership: MakeRestoreDriver hands the driver over as a unique_ptr.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pgdr/core/status.h"
#include "pgdr/restore/restore.h"
#include "pgdr/store/archive.h"

namespace pgdr::restore {

// Where and as whom a driver runs its tools.
struct FetchContext {
  std::string data_dir;
  std::string run_as;  // empty: this process's user
  milliseconds timeout{3600000};
  const std::atomic<bool>* cancel = nullptr;  // set: stop the fetch
  std::string pg_bin = "/usr/lib/postgresql/15/bin";
  std::string db_user = "postgres";  // the superuser of a cluster a logical driver initdb's
};

// The running scratch server a logical driver loads into.
struct LoadContext {
  std::string socket_dir;  // the data directory (its socket is there)
  int port = 0;
  std::string db_user, db_name, run_as, pg_bin;
  milliseconds timeout{3600000};
  const std::atomic<bool>* cancel = nullptr;
};

class RestoreDriver {
 public:
  virtual ~RestoreDriver() = default;
  // Fetches `backup` into ctx.data_dir and writes the recovery settings for
  // `target` (recovery.signal and postgresql.auto.conf). Errors name the tool
  // and the store object.
  virtual core::Status Fetch(const store::BackupRecord& backup, const RecoveryTarget& target,
                             const FetchContext& ctx) = 0;
  // Fetches one archived WAL segment (its name) into `path`.
  virtual core::Status FetchWal(const std::string& segment, const std::string& path,
                                milliseconds timeout) = 0;
  // The store object a backup is read from, for messages ("pfx/demo/base/<id>").
  virtual std::string BackupObject(const store::BackupRecord& backup) const = 0;
  // Environment the tools and the scratch server (its restore_command) need:
  // credentials resolved from the store's *_env / *_file settings.
  virtual const std::map<std::string, std::string>& environment() const = 0;

  // Logical: a backup is a dump with no WAL (no begin_wal, no chain to
  // check), restored to its own point in time only — `latest` or a time,
  // which picks the newest dump at or before it.
  virtual bool Logical() const { return false; }
  // Logical drivers: loads what Fetch left into the running scratch server.
  // Errors name the tool and the store object.
  virtual core::Status Load(const LoadContext& /*ctx*/) { return core::Status::OK(); }
};

// The driver for the store's layout (barman-cloud, pgbackrest, pg_dump); others are
// Unsupported, naming the layout.
core::Result<std::unique_ptr<RestoreDriver>> MakeRestoreDriver(const store::StoreSettings& store);

// argv wrapped in `runuser -u USER --` when USER is set and this process is root.
std::vector<std::string> AsUser(const std::string& run_as, std::vector<std::string> argv);

}  // namespace pgdr::restore

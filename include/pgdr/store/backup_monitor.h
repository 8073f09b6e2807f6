// BackupMonitor: backup and WAL-archive freshness of one configured store,
// read straight from the object store — the contract with the exporter.
//
// Why: in a disaster the questions are "is there a recent restorable backup,
// is the WAL chain since it complete, how much would we lose now?". The
// monitor answers from what the backup tools wrote (barman-cloud, WAL-G,
// pgBackRest, pg_dump), not from what PostgreSQL believes it archived.
//
// Cost: after the first poll only new WAL keys are listed (start-after on the
// WAL prefix) and catalog files are re-read only when new or changed, so a
// store with 50,000 segments polls about as fast as a small one. A full
// listing every `full_list_interval` (default 1h) notices deleted objects.
//
// Each poll is bounded by the store's `deadline` (default 30s): a request that
// would start after it fails the poll instead, and every request has its own
// `timeout`.
//
// Thread-safety: a monitor is polled by one thread at a time (its store's
// thread in app/store_poller.h, never the collection thread); the accessors
// are immutable after creation.
// Ownership: MakeBackupMonitor hands the monitor over as a unique_ptr.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pgdr/config/yaml_reader.h"
#include "pgdr/core/metric_set.h"
#include "pgdr/core/status.h"
#include "pgdr/store/archive.h"
#include "pgdr/store/object_store.h"
#include "pgdr/store/wal.h"

namespace pgdr::store {

// What the exporter's RPO computation needs from one store.
struct ArchiveFacts {
  std::string cluster, store;
  bool up = false;
  std::optional<double> newest_archived_lsn_bytes;  // end LSN of the newest archived WAL segment
  std::optional<double>
      newest_segment_timestamp_seconds;  // when that segment was written (object mtime)
};

class BackupMonitor {
 public:
  virtual ~BackupMonitor() = default;
  virtual const std::string& cluster() const = 0;
  virtual const std::string& name() const = 0;  // the store's configured name (label `store`)
  virtual std::chrono::milliseconds interval() const = 0;
  // Polls once: blocking, bounded by the store's request timeouts/deadline, never throws.
  // Adds pgdr_backup_*, pgdr_wal_archive_*, pgdr_logical_backup_*, pgdr_backup_store_up and
  // request count/duration metrics (labels cluster, store) to `out`.
  virtual ArchiveFacts Poll(core::MetricSet& out) = 0;
};

// Builds the monitor: the object store driver and the layout (errors name
// the entry's position and the store).
// `settings` from ParseBackupStores / ParseStoreSettings (archive.h).
core::Result<std::unique_ptr<BackupMonitor>> MakeBackupMonitor(StoreSettings settings);
// ParseStoreSettings, then MakeBackupMonitor (tests, tools, benchmarks).
core::Result<std::unique_ptr<BackupMonitor>> MakeBackupMonitor(const config::YamlReader& reader,
                                                               const YAML::Node& entry);

}  // namespace pgdr::store

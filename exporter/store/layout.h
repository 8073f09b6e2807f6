// Backup layouts: where barman-cloud (as CloudNativePG runs it), WAL-G,
// pgBackRest and pg_dump jobs put their backups and WAL in a store, and the
// parsers of their catalog files.
//
// Why an interface: the monitor's incremental WAL listing, gap computation
// and metrics are the same for every tool; only the key names and catalog
// formats differ. Parsers are pure functions so that malformed and
// truncated files are unit-tested without a store.
//
// Thread-safety: a Layout is used by one monitor at a time.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgdr/core/status.h"
#include "pgdr/store/archive.h"
#include "pgdr/store/object_store.h"
#include "pgdr/store/wal.h"

namespace pgdr::store {

// barman-cloud's backup.info (key=value lines). Corruption names the field.
core::Result<BackupRecord> ParseBarmanBackupInfo(std::string_view text, uint64_t segment_size);
// pgBackRest's backup/<stanza>/backup.info (INI, JSON values per backup).
core::Result<std::vector<BackupRecord>> ParsePgBackRestInfo(std::string_view text,
                                                            uint64_t segment_size);
// WAL-G's basebackups_005/<name>_backup_stop_sentinel.json.
core::Result<BackupRecord> ParseWalGSentinel(std::string_view name, std::string_view text,
                                             uint64_t segment_size);

class Layout {
 public:
  virtual ~Layout() = default;
  // The key prefix holding WAL segments and history files; empty for pg_dump.
  virtual std::string WalPrefix() const = 0;
  // Brings `catalog` (keyed by backup id, kept between polls) up to date,
  // reading only catalog objects that are new or changed; `full` asks to
  // re-list everything (to notice deletions). A non-OK Status means the store
  // could not be read; unparseable objects go to `errors` and are kept in
  // the catalog with status "invalid" so that they are not re-read.
  virtual core::Status RefreshBackups(ObjectStore& store,
                                      std::map<std::string, BackupRecord>& catalog, bool full,
                                      const ParseErrorSink& errors) = 0;
};

// REQUIRES: name is one of barman-cloud, wal-g, pgbackrest, pg_dump.
core::Result<std::unique_ptr<Layout>> MakeLayout(std::string_view name,
                                                 const LayoutOptions& options);

}  // namespace pgdr::store

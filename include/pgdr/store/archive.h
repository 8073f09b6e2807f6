// What a store holds, read once: its settings, its backup catalog and its
// WAL archive.
//
// Why public: the backup monitor polls this incrementally to emit metrics,
// and the restore engine (exporter/restore/) needs the very same facts once,
// to pick the base backup that precedes a target and to check that the WAL
// chain from it is complete before spending time on a fetch. Both read the
// store through the same parsers, so a restore never disagrees with what
// /metrics said about the store.
//
// Thread-safety: value types; ReadArchive() builds its own driver per call.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pgdr/config/yaml_reader.h"
#include "pgdr/core/status.h"
#include "pgdr/store/object_store.h"
#include "pgdr/store/wal.h"

namespace pgdr::store {

// One backup as its tool recorded it.
struct BackupRecord {
  std::string id;
  std::string status;  // "done", "done_with_errors", "failed", "running", "invalid"
  std::string type;    // "full", "diff", "incr", "delta", "logical"
  std::optional<double> begin_time, end_time;  // Unix seconds
  std::optional<double> size_bytes;
  std::optional<SegmentId> begin_wal;
  // Identity of the catalog object it came from, to re-read only on change.
  uint64_t object_size = 0;
  double object_mtime = 0;

  // Finished and restorable: done (or done with errors) with an end time.
  bool Completed() const {
    return (status == "done" || status == "done_with_errors") && end_time.has_value();
  }
};

// Called for an object the layout could not parse; the read goes on.
using ParseErrorSink = std::function<void(const std::string& key, const std::string& message)>;

struct LayoutOptions {
  std::string server_name;    // barman-cloud
  std::string stanza;         // pgbackrest
  std::string pattern = "*";  // pg_dump: glob on the key below the store root
  uint64_t segment_size = kDefaultWalSegmentSize;
};

// One `backup_stores:` entry, validated (keys documented in docs/backups.md).
struct StoreSettings {
  std::string name, cluster, layout;
  LayoutOptions layout_options;
  StoreOptions store_options;
  std::chrono::milliseconds interval{60000};
  std::chrono::milliseconds deadline{30000};
  std::chrono::milliseconds full_list_interval{3600000};
  std::string where;  // file:line:col of the entry, for messages
};

// Parses and validates one entry; errors name file:line:col.
core::Result<StoreSettings> ParseStoreSettings(const config::YamlReader& reader,
                                               const YAML::Node& entry);
// The whole `backup_stores:` list (config::OwnedSections::backup_stores).
core::Result<std::vector<StoreSettings>> ParseBackupStores(const config::YamlReader& reader,
                                                           const YAML::Node& list);

// The WAL archive as listed: complete segments per timeline, history files.
struct WalListing {
  WalChain chain;
  std::string cursor;  // the last key listed: an incremental listing resumes after it
  std::optional<SegmentId> newest;
  double newest_mtime = 0;
  uint64_t partials = 0;
  std::set<uint32_t> histories_unreadable;  // compressed or unparseable
};

// Lists WAL keys under `prefix` after listing.cursor into `listing`, reading
// (and, when gzip'd, decompressing) timeline history files.
core::Status ListWal(ObjectStore& store, const std::string& prefix, uint64_t segment_size,
                     WalListing& listing, const ParseErrorSink& errors);

struct Archive {
  std::vector<BackupRecord> backups;  // in the layout's id order (oldest first for all four)
  WalListing wal;
};

// One full read of a store's catalog and WAL archive, bounded by the store's
// request timeout per request. Unparseable catalog objects go to `errors`.
core::Result<Archive> ReadArchive(const StoreSettings& settings, const ParseErrorSink& errors);

}  // namespace pgdr::store

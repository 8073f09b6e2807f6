// The four layouts: barman-cloud, WAL-G, pgBackRest and pg_dump.
#include <fnmatch.h>

#include <set>

#include "store/layout.h"

namespace pgdr::store {
namespace {

constexpr size_t kMaxCatalogBytes = 16 << 20;
// U+10FFFF in UTF-8: appended to "<dir>/" it sorts after every key below <dir>/.
constexpr char kMaxCodePoint[] = "\xF4\x8F\xBF\xBF";

BackupRecord Invalid(const std::string& id) {
  BackupRecord record;
  record.id = id;
  record.status = "invalid";
  return record;
}

bool Changed(const BackupRecord& cached, const ObjectInfo& info) {
  return cached.object_size != info.size || cached.object_mtime != info.mtime_seconds;
}

// barman-cloud: <server>/base/<id>/backup.info and <server>/wals/<16 hex>/<segment>.
class BarmanCloudLayout final : public Layout {
 public:
  explicit BarmanCloudLayout(LayoutOptions options) : options_(std::move(options)) {}

  std::string WalPrefix() const override { return options_.server_name + "/wals/"; }

  core::Status RefreshBackups(ObjectStore& store, std::map<std::string, BackupRecord>& catalog,
                              bool full, const ParseErrorSink& errors) override {
    std::string base = options_.server_name + "/base/";
    // Backup ids are timestamps: new ones sort after the newest known, so an
    // incremental poll lists only after it; the full listing drops deleted ones.
    std::string cursor;
    if (!full && !catalog.empty()) cursor = base + catalog.rbegin()->first + "/" + kMaxCodePoint;
    std::set<std::string> ids;
    core::Status listed = ListAfter(store, {base, cursor, true}, [&](const ObjectInfo& info) {
      if (info.is_prefix) {
        ids.insert(info.key.substr(base.size(), info.key.size() - base.size() - 1));
      }
      return core::Status::OK();
    });
    if (!listed.ok()) return listed;
    if (full) {
      std::erase_if(catalog, [&](const auto& entry) { return !ids.contains(entry.first); });
    }
    for (const auto& [id, record] : catalog) {
      if (record.status == "running") ids.insert(id);
    }
    for (const std::string& id : ids) {
      auto cached = catalog.find(id);
      // Finished backups never change; running ones are re-read until they end.
      if (cached != catalog.end() && cached->second.status != "running") continue;
      std::string key = base + id + "/backup.info";
      core::Result<std::string> text = store.Read(key, kMaxCatalogBytes);
      if (!text.ok()) {
        if (text.status().code() == core::Status::Code::kNotFound) continue;  // upload in progress
        return text.status();
      }
      core::Result<BackupRecord> record = ParseBarmanBackupInfo(*text, options_.segment_size);
      if (!record.ok()) {
        errors(key, record.status().message());
        catalog[id] = Invalid(id);
        continue;
      }
      if (record->id.empty()) record->id = id;
      catalog[id] = std::move(*record);
    }
    return core::Status::OK();
  }

 private:
  LayoutOptions options_;
};

// WAL-G: basebackups_005/<name>_backup_stop_sentinel.json and wal_005/.
class WalGLayout final : public Layout {
 public:
  explicit WalGLayout(LayoutOptions options) : options_(std::move(options)) {}

  std::string WalPrefix() const override { return "wal_005/"; }

  core::Status RefreshBackups(ObjectStore& store, std::map<std::string, BackupRecord>& catalog,
                              bool full, const ParseErrorSink& errors) override {
    static constexpr std::string_view kPrefix = "basebackups_005/";
    static constexpr std::string_view kSuffix = "_backup_stop_sentinel.json";
    std::map<std::string, ObjectInfo> sentinels;
    // Sentinels are named after their start segment: new ones sort last.
    std::string cursor;
    if (!full && !catalog.empty()) {
      cursor = std::string(kPrefix) + catalog.rbegin()->first + std::string(kSuffix);
    }
    core::Status listed =
        ListAfter(store, {std::string(kPrefix), cursor, true}, [&](const ObjectInfo& info) {
          if (!info.is_prefix && info.key.ends_with(kSuffix)) {
            std::string name = info.key.substr(kPrefix.size());
            name.resize(name.size() - kSuffix.size());
            sentinels.emplace(std::move(name), info);
          }
          return core::Status::OK();
        });
    if (!listed.ok()) return listed;
    if (full) {
      std::erase_if(catalog, [&](const auto& entry) { return !sentinels.contains(entry.first); });
    }
    for (const auto& [name, info] : sentinels) {
      auto cached = catalog.find(name);
      if (cached != catalog.end() && !Changed(cached->second, info)) continue;
      core::Result<std::string> text = store.Read(info.key, kMaxCatalogBytes);
      if (!text.ok()) return text.status();
      core::Result<BackupRecord> record = ParseWalGSentinel(name, *text, options_.segment_size);
      if (!record.ok()) {
        errors(info.key, record.status().message());
        record = Invalid(name);
      }
      record->object_size = info.size;
      record->object_mtime = info.mtime_seconds;
      catalog[name] = std::move(*record);
    }
    return core::Status::OK();
  }

 private:
  LayoutOptions options_;
};

// pgBackRest: backup/<stanza>/backup.info (+ .copy) and archive/<stanza>/<id>/.
class PgBackRestLayout final : public Layout {
 public:
  explicit PgBackRestLayout(LayoutOptions options) : options_(std::move(options)) {}

  std::string WalPrefix() const override { return "archive/" + options_.stanza + "/"; }

  core::Status RefreshBackups(ObjectStore& store, std::map<std::string, BackupRecord>& catalog,
                              bool, const ParseErrorSink& errors) override {
    std::string key = "backup/" + options_.stanza + "/backup.info";
    std::map<std::string, ObjectInfo> files;  // backup.info, backup.info.copy
    core::Status listed = store.List({key, "", false}, [&](const ObjectInfo& info) {
      files.emplace(info.key, info);
      return core::Status::OK();
    });
    if (!listed.ok()) return listed;
    if (files.empty()) {
      catalog.clear();
      return core::Status::OK();
    }
    // The file is rewritten whole after each backup; re-read it only when it
    // changed (also after a parse error, so that one bad file logs once).
    const ObjectInfo& main = files.begin()->second;
    if (main.size == info_size_ && main.mtime_seconds == info_mtime_) return core::Status::OK();
    info_size_ = main.size;
    info_mtime_ = main.mtime_seconds;
    for (const std::string& candidate : {key, key + ".copy"}) {
      if (!files.contains(candidate)) continue;
      core::Result<std::string> text = store.Read(candidate, kMaxCatalogBytes);
      if (!text.ok()) return text.status();
      core::Result<std::vector<BackupRecord>> records =
          ParsePgBackRestInfo(*text, options_.segment_size);
      if (!records.ok()) {
        errors(candidate, records.status().message());
        continue;  // fall back to the copy, as pgBackRest itself does
      }
      catalog.clear();
      for (BackupRecord& r : *records) catalog[r.id] = std::move(r);
      return core::Status::OK();
    }
    return core::Status::OK();
  }

 private:
  LayoutOptions options_;
  uint64_t info_size_ = 0;
  double info_mtime_ = -1;
};

// pg_dump: every object matching `pattern` is one logical backup.
class PgDumpLayout final : public Layout {
 public:
  explicit PgDumpLayout(LayoutOptions options) : options_(std::move(options)) {}

  std::string WalPrefix() const override { return ""; }

  core::Status RefreshBackups(ObjectStore& store, std::map<std::string, BackupRecord>& catalog,
                              bool full, const ParseErrorSink&) override {
    // Resume after the newest key seen (dumps are immutable once written);
    // a full listing replaces the catalog to drop deleted dumps.
    std::map<std::string, BackupRecord> fresh;
    std::map<std::string, BackupRecord>& into = full ? fresh : catalog;
    std::string cursor = full || catalog.empty() ? "" : catalog.rbegin()->first;
    core::Status listed = ListAfter(store, {"", cursor, false}, [&](const ObjectInfo& info) {
      if (fnmatch(options_.pattern.c_str(), info.key.c_str(), 0) != 0) return core::Status::OK();
      BackupRecord record;
      record.id = info.key;
      record.status = "done";
      record.type = "logical";
      record.end_time = info.mtime_seconds;
      record.size_bytes = static_cast<double>(info.size);
      into[info.key] = std::move(record);
      return core::Status::OK();
    });
    if (listed.ok() && full) catalog = std::move(fresh);
    return listed;
  }

 private:
  LayoutOptions options_;
};

}  // namespace

core::Result<std::unique_ptr<Layout>> MakeLayout(std::string_view name,
                                                 const LayoutOptions& options) {
  if (name == "barman-cloud") {
    if (options.server_name.empty())
      return core::Status::InvalidArgument("server_name is required");
    return std::unique_ptr<Layout>(std::make_unique<BarmanCloudLayout>(options));
  }
  if (name == "wal-g") return std::unique_ptr<Layout>(std::make_unique<WalGLayout>(options));
  if (name == "pgbackrest") {
    if (options.stanza.empty()) return core::Status::InvalidArgument("stanza is required");
    return std::unique_ptr<Layout>(std::make_unique<PgBackRestLayout>(options));
  }
  if (name == "pg_dump") return std::unique_ptr<Layout>(std::make_unique<PgDumpLayout>(options));
  return core::Status::InvalidArgument("layout \"" + std::string(name) +
                                       "\": expected barman-cloud, wal-g, pgbackrest or pg_dump");
}

}  // namespace pgdr::store

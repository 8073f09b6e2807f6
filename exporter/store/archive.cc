// Store settings, the one-shot catalog and WAL read, and the WAL listing
// the backup monitor shares with the restore engine.
#include "pgdr/store/archive.h"

#include <cstdlib>

#include "store/layout.h"

namespace pgdr::store {
namespace {

constexpr size_t kMaxHistoryBytes = 1 << 20;

SecretSource Secret(const config::YamlReader& reader, const YAML::Node& entry,
                    const std::string& base) {
  return SecretSource{reader.StringOr(entry, base + "_env", ""),
                      reader.StringOr(entry, base + "_file", "")};
}

StoreSettings Parse(const config::YamlReader& reader, const YAML::Node& entry) {
  reader.ExpectMap(entry, "backup store");
  reader.CheckKeys(entry,
                   {"name",
                    "cluster",
                    "layout",
                    "url",
                    "server_name",
                    "stanza",
                    "pattern",
                    "endpoint",
                    "region",
                    "path_style",
                    "access_key_id_env",
                    "access_key_id_file",
                    "secret_access_key_env",
                    "secret_access_key_file",
                    "session_token_env",
                    "session_token_file",
                    "account_name",
                    "account_key_env",
                    "account_key_file",
                    "sas_token_env",
                    "sas_token_file",
                    "ca_file",
                    "insecure_skip_verify",
                    "interval",
                    "timeout",
                    "deadline",
                    "full_list_interval",
                    "wal_segment_size",
                    "max_objects"},
                   "backup store");
  StoreSettings s;
  s.where = reader.Where(entry);
  s.name = reader.String(entry, "name");
  s.cluster = reader.String(entry, "cluster");
  s.layout = reader.String(entry, "layout");
  if (s.layout != "barman-cloud" && s.layout != "wal-g" && s.layout != "pgbackrest" &&
      s.layout != "pg_dump") {
    reader.Fail(entry["layout"], "layout must be barman-cloud, wal-g, pgbackrest or pg_dump");
  }
  StoreOptions& o = s.store_options;
  o.url = reader.String(entry, "url");
  if (!o.url.starts_with("s3://") && !o.url.starts_with("gs://") &&
      !o.url.starts_with("azure://") && !o.url.starts_with("file:///")) {
    reader.Fail(entry["url"], "url must start with s3://, gs://, azure:// or file:///");
  }
  s.layout_options.server_name = reader.StringOr(entry, "server_name", s.cluster);
  s.layout_options.stanza = reader.StringOr(entry, "stanza", "");
  if (s.layout == "pgbackrest" && s.layout_options.stanza.empty()) {
    reader.Fail(entry, "layout pgbackrest needs \"stanza\"");
  }
  s.layout_options.pattern = reader.StringOr(entry, "pattern", "*");
  long long segment_size = reader.IntOr(entry, "wal_segment_size", kDefaultWalSegmentSize);
  if (segment_size < (1 << 20) || segment_size > (1ll << 30) ||
      (segment_size & (segment_size - 1)) != 0) {
    reader.Fail(entry["wal_segment_size"], "wal_segment_size must be a power of two, 1MiB..1GiB");
  }
  s.layout_options.segment_size = static_cast<uint64_t>(segment_size);
  o.endpoint = reader.StringOr(entry, "endpoint", "");
  const char* env_region = std::getenv("AWS_REGION");
  if (env_region == nullptr) env_region = std::getenv("AWS_DEFAULT_REGION");
  o.region = reader.StringOr(entry, "region", env_region != nullptr ? env_region : "us-east-1");
  if (entry["path_style"]) o.path_style = reader.BoolOr(entry, "path_style", false);
  o.access_key_id = Secret(reader, entry, "access_key_id");
  o.secret_access_key = Secret(reader, entry, "secret_access_key");
  o.session_token = Secret(reader, entry, "session_token");
  o.account_name = reader.StringOr(entry, "account_name", "");
  o.account_key = Secret(reader, entry, "account_key");
  o.sas_token = Secret(reader, entry, "sas_token");
  o.ca_file = reader.StringOr(entry, "ca_file", "");
  o.insecure_skip_verify = reader.BoolOr(entry, "insecure_skip_verify", false);
  s.interval = reader.DurationOr(entry, "interval", s.interval);
  o.timeout = reader.DurationOr(entry, "timeout", o.timeout);
  s.deadline = reader.DurationOr(entry, "deadline", s.deadline);
  s.full_list_interval = reader.DurationOr(entry, "full_list_interval", s.full_list_interval);
  long long max_objects = reader.IntOr(entry, "max_objects", 1000000);
  if (max_objects <= 0) reader.Fail(entry["max_objects"], "max_objects must be positive");
  o.max_objects = static_cast<uint64_t>(max_objects);
  if (s.interval.count() <= 0) reader.Fail(entry["interval"], "interval must be positive");
  if (o.timeout.count() <= 0) reader.Fail(entry["timeout"], "timeout must be positive");
  if (s.deadline.count() <= 0) reader.Fail(entry["deadline"], "deadline must be positive");
  return s;
}

core::Status ReadHistory(ObjectStore& store, const ObjectInfo& info, uint32_t timeline,
                         WalListing& state, const ParseErrorSink& errors) {
  bool gzip = info.key.ends_with(".history.gz");
  if (!info.key.ends_with(".history") && !gzip) {
    // Other compressions: switch points unknown; the gap falls back to "any timeline".
    state.histories_unreadable.insert(timeline);
    return core::Status::OK();
  }
  core::Result<std::string> text = store.Read(info.key, kMaxHistoryBytes);
  if (!text.ok()) return text.status();
  if (gzip) text = Gunzip(*text, kMaxHistoryBytes);
  core::Result<std::vector<HistoryEntry>> entries =
      text.ok() ? ParseHistoryFile(*text) : core::Result<std::vector<HistoryEntry>>(text.status());
  if (!entries.ok()) {
    errors(info.key, entries.status().message());
    state.histories_unreadable.insert(timeline);
    return core::Status::OK();
  }
  state.chain.histories[timeline] = std::move(*entries);
  return core::Status::OK();
}

}  // namespace

core::Result<StoreSettings> ParseStoreSettings(const config::YamlReader& reader,
                                               const YAML::Node& entry) {
  StoreSettings settings;
  core::Status parsed = config::GuardYaml(reader.file(), [&] { settings = Parse(reader, entry); });
  if (!parsed.ok()) return parsed;
  return settings;
}

core::Result<std::vector<StoreSettings>> ParseBackupStores(const config::YamlReader& reader,
                                                           const YAML::Node& list) {
  std::vector<StoreSettings> out;
  if (!list || list.IsNull()) return out;
  for (const auto& entry : list) {
    auto store = ParseStoreSettings(reader, entry);
    if (!store.ok()) return store.status();
    out.push_back(std::move(*store));
  }
  return out;
}

core::Status ListWal(ObjectStore& store, const std::string& prefix, uint64_t segment_size,
                     WalListing& state, const ParseErrorSink& errors) {
  ListOptions options{prefix, state.cursor, false};
  return ListAfter(store, options, [&](const ObjectInfo& info) -> core::Status {
    state.cursor = info.key;
    WalFile file = ClassifyWalFile(info.key, segment_size);
    switch (file.kind) {
      case WalFile::Kind::kSegment: {
        state.chain.segments[file.segment.timeline].Insert(file.segment.segno);
        if (!state.newest || std::pair(file.segment.segno, file.segment.timeline) >
                                 std::pair(state.newest->segno, state.newest->timeline)) {
          state.newest = file.segment;
          state.newest_mtime = info.mtime_seconds;
        }
        break;
      }
      case WalFile::Kind::kPartial:
        ++state.partials;
        break;
      case WalFile::Kind::kHistory:
        return ReadHistory(store, info, file.segment.timeline, state, errors);
      default:
        break;
    }
    return core::Status::OK();
  });
}

core::Result<Archive> ReadArchive(const StoreSettings& settings, const ParseErrorSink& errors) {
  core::Result<std::unique_ptr<ObjectStore>> store = MakeObjectStore(settings.store_options);
  if (!store.ok()) return store.status();
  core::Result<std::unique_ptr<Layout>> layout =
      MakeLayout(settings.layout, settings.layout_options);
  if (!layout.ok()) return layout.status();
  std::map<std::string, BackupRecord> catalog;
  if (core::Status s = (*layout)->RefreshBackups(**store, catalog, true, errors); !s.ok()) return s;
  Archive archive;
  for (auto& [id, record] : catalog) archive.backups.push_back(std::move(record));
  std::string prefix = (*layout)->WalPrefix();
  if (prefix.empty()) return archive;
  core::Status listed =
      ListWal(**store, prefix, settings.layout_options.segment_size, archive.wal, errors);
  if (!listed.ok()) return listed;
  return archive;
}

}  // namespace pgdr::store

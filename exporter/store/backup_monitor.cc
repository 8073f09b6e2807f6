#include "pgdr/store/backup_monitor.h"

#include <cstdlib>
#include <set>

#include "pgdr/core/log.h"
#include "pgdr/store/object_store.h"
#include "pgdr/store/wal.h"
#include "store/layout.h"

namespace pgdr::store {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxHistoryBytes = 1 << 20;

// What the monitor knows of the WAL archive; rebuilt by each full listing.
struct WalState {
  WalChain chain;
  std::string cursor;  // the last key listed
  std::optional<SegmentId> newest;
  double newest_mtime = 0;
  uint64_t partials = 0;
  std::set<uint32_t> histories_unreadable;  // compressed or unparseable
};

SecretSource Secret(const config::YamlReader& reader, const YAML::Node& entry,
                    const std::string& base) {
  return SecretSource{reader.StringOr(entry, base + "_env", ""),
                      reader.StringOr(entry, base + "_file", "")};
}

BackupStoreConfig ParseSettings(const config::YamlReader& reader, const YAML::Node& entry) {
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
  BackupStoreConfig s;
  s.where = reader.Where(entry);
  s.name = reader.String(entry, "name");
  s.cluster = reader.String(entry, "cluster");
  s.layout = reader.String(entry, "layout");
  if (s.layout != "barman-cloud" && s.layout != "wal-g" && s.layout != "pgbackrest" &&
      s.layout != "pg_dump") {
    reader.Fail(entry["layout"], "layout must be barman-cloud, wal-g, pgbackrest or pg_dump");
  }
  StoreOptions& o = s.store;
  o.url = reader.String(entry, "url");
  if (!o.url.starts_with("s3://") && !o.url.starts_with("gs://") &&
      !o.url.starts_with("azure://") && !o.url.starts_with("file:///")) {
    reader.Fail(entry["url"], "url must start with s3://, gs://, azure:// or file:///");
  }
  s.server_name = reader.StringOr(entry, "server_name", s.cluster);
  s.stanza = reader.StringOr(entry, "stanza", "");
  if (s.layout == "pgbackrest" && s.stanza.empty()) {
    reader.Fail(entry, "layout pgbackrest needs \"stanza\"");
  }
  s.pattern = reader.StringOr(entry, "pattern", s.pattern);
  long long segment_size = reader.IntOr(entry, "wal_segment_size", kDefaultWalSegmentSize);
  if (segment_size < (1 << 20) || segment_size > (1ll << 30) ||
      (segment_size & (segment_size - 1)) != 0) {
    reader.Fail(entry["wal_segment_size"], "wal_segment_size must be a power of two, 1MiB..1GiB");
  }
  s.wal_segment_size = static_cast<uint64_t>(segment_size);
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

// Bounds a whole poll: a request that would start after the deadline fails
// with kTimeout instead (each request is bounded by the store's timeout).
class DeadlineStore final : public ObjectStore {
 public:
  DeadlineStore(ObjectStore& inner, const Clock::time_point& deadline,
                std::chrono::milliseconds budget)
      : inner_(inner), deadline_(deadline), budget_(budget) {}

  core::Status List(const ListOptions& options, const ListVisitor& visit) override {
    if (core::Status s = Check(); !s.ok()) return s;
    return inner_.List(options, [&](const ObjectInfo& info) {
      if (core::Status s = Check(); !s.ok()) return s;
      return visit(info);
    });
  }
  core::Result<std::string> Read(std::string_view key, size_t max_bytes) override {
    if (core::Status s = Check(); !s.ok()) return s;
    return inner_.Read(key, max_bytes);
  }
  Capabilities capabilities() const override { return inner_.capabilities(); }
  const std::string& description() const override { return inner_.description(); }

 private:
  core::Status Check() const {
    if (Clock::now() <= deadline_) return core::Status::OK();
    return core::Status::Timeout(inner_.description() + ": poll deadline of " +
                                 config::FormatDuration(budget_) + " exceeded");
  }
  ObjectStore& inner_;
  const Clock::time_point& deadline_;
  std::chrono::milliseconds budget_;
};

class Monitor final : public BackupMonitor {
 public:
  Monitor(BackupStoreConfig settings, std::unique_ptr<ObjectStore> store,
          std::unique_ptr<Layout> layout)
      : settings_(std::move(settings)),
        store_(std::move(store)),
        guarded_(*store_, deadline_, settings_.deadline),
        layout_(std::move(layout)) {}

  const std::string& cluster() const override { return settings_.cluster; }
  const std::string& name() const override { return settings_.name; }
  std::chrono::milliseconds interval() const override { return settings_.interval; }

  ArchiveFacts Poll(core::MetricSet& out) override {
    Clock::time_point started = Clock::now();
    deadline_ = started + settings_.deadline;
    bool full = !last_full_ || started - *last_full_ >= settings_.full_list_interval;
    core::Status status = PollStore(full);
    if (status.ok() && full) last_full_ = started;
    if (status.ok()) polled_once_ = true;
    if (!status.ok()) {
      core::Log(
          core::LogLevel::kWarn, "backup store poll failed",
          {{"cluster", settings_.cluster}, {"store", settings_.name}, {"error", status.message()}});
    }
    double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    Emit(out, status.ok(), seconds);
    ArchiveFacts facts;
    facts.cluster = settings_.cluster;
    facts.store = settings_.name;
    facts.up = status.ok();
    if (wal_.newest) {
      facts.newest_archived_lsn_bytes =
          static_cast<double>((wal_.newest->segno + 1) * settings_.wal_segment_size);
      facts.newest_segment_timestamp_seconds = wal_.newest_mtime;
    }
    return facts;
  }

 private:
  void ParseError(const std::string& key, const std::string& message) {
    ++parse_errors_;
    core::Log(core::LogLevel::kWarn, "backup store object unparseable",
              {{"cluster", settings_.cluster},
               {"store", settings_.name},
               {"key", key},
               {"error", message}});
  }

  core::Status PollStore(bool full) {
    core::Status s = layout_->RefreshBackups(
        guarded_, catalog_, full,
        [this](const std::string& key, const std::string& msg) { ParseError(key, msg); });
    if (!s.ok()) return s;
    std::string prefix = layout_->WalPrefix();
    if (prefix.empty()) return core::Status::OK();
    if (!full) return ListWal(prefix, wal_);
    WalState fresh;
    s = ListWal(prefix, fresh);
    if (s.ok()) wal_ = std::move(fresh);
    return s;
  }

  core::Status ListWal(const std::string& prefix, WalState& state) {
    uint64_t segment_size = settings_.wal_segment_size;
    ListOptions options{prefix, state.cursor, false};
    return ListAfter(guarded_, options, [&](const ObjectInfo& info) -> core::Status {
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
          return ReadHistory(info, file.segment.timeline, state);
        default:
          break;
      }
      return core::Status::OK();
    });
  }

  core::Status ReadHistory(const ObjectInfo& info, uint32_t timeline, WalState& state) {
    bool gzip = info.key.ends_with(".history.gz");
    if (!info.key.ends_with(".history") && !gzip) {
      // Other compressions: switch points unknown; the gap falls back to "any timeline".
      state.histories_unreadable.insert(timeline);
      return core::Status::OK();
    }
    core::Result<std::string> text = guarded_.Read(info.key, kMaxHistoryBytes);
    if (!text.ok()) return text.status();
    if (gzip) text = Gunzip(*text, kMaxHistoryBytes);
    core::Result<std::vector<HistoryEntry>> entries =
        text.ok() ? ParseHistoryFile(*text)
                  : core::Result<std::vector<HistoryEntry>>(text.status());
    if (!entries.ok()) {
      ParseError(info.key, entries.status().message());
      state.histories_unreadable.insert(timeline);
      return core::Status::OK();
    }
    state.chain.histories[timeline] = std::move(*entries);
    return core::Status::OK();
  }

  core::Labels Base() const { return {{"cluster", settings_.cluster}, {"store", settings_.name}}; }
  core::Labels With(std::string name, std::string value) const {
    core::Labels labels = Base();
    labels.push_back({std::move(name), std::move(value)});
    return labels;
  }

  void Emit(core::MetricSet& out, bool up, double poll_seconds) {
    out.Gauge("pgdr_backup_store_up", "1 if the last poll of the backup store succeeded.", Base(),
              up ? 1 : 0);
    out.Gauge("pgdr_backup_store_poll_duration_seconds", "Duration of the last poll of the store.",
              Base(), poll_seconds);
    for (const auto& [key, count] : store_->stats().count) {
      core::Labels labels = With("operation", key.first);
      labels.push_back({"result", key.second});
      out.Counter("pgdr_backup_store_requests_total", "Requests made to the backup store.", labels,
                  static_cast<double>(count));
    }
    for (const auto& [operation, seconds] : store_->stats().seconds) {
      out.Counter("pgdr_backup_store_request_duration_seconds_total",
                  "Time spent in requests to the backup store.", With("operation", operation),
                  seconds);
    }
    out.Counter("pgdr_backup_store_objects_listed_total", "Objects returned by store listings.",
                Base(), static_cast<double>(store_->stats().objects_listed));
    out.Counter("pgdr_backup_store_parse_errors_total",
                "Objects in the store that could not be parsed.", Base(),
                static_cast<double>(parse_errors_));
    // Catalog and WAL values are those of the last successful listing.
    if (!polled_once_) return;
    if (settings_.layout == "pg_dump") {
      EmitLogical(out);
      return;
    }
    EmitBackups(out);
    EmitWal(out);
  }

  void EmitLogical(core::MetricSet& out) {
    const BackupRecord* newest = nullptr;
    for (const auto& [id, r] : catalog_) {
      // Ties (same mtime) go to the later key: dump names carry their date.
      if (newest == nullptr || r.end_time >= newest->end_time) newest = &r;
    }
    out.Gauge("pgdr_logical_backups", "Logical backup (pg_dump) objects in the store.", Base(),
              static_cast<double>(catalog_.size()));
    if (newest == nullptr) return;
    out.Gauge("pgdr_logical_backup_last_completed_timestamp_seconds",
              "When the newest logical backup object was written.", Base(), *newest->end_time);
    out.Gauge("pgdr_logical_backup_last_size_bytes", "Size of the newest logical backup object.",
              Base(), newest->size_bytes.value_or(0));
  }

  static bool Completed(const BackupRecord& r) {
    return (r.status == "done" || r.status == "done_with_errors") && r.end_time.has_value();
  }

  void EmitBackups(core::MetricSet& out) {
    std::map<std::string, double> by_status = {{"done", 0}, {"failed", 0}, {"running", 0}};
    std::map<std::string, double> last_by_type;
    const BackupRecord* newest = nullptr;
    const BackupRecord* oldest = nullptr;
    std::optional<double> last_failed;
    for (const auto& [id, r] : catalog_) {
      ++by_status[r.status];
      if (r.status == "failed") {
        std::optional<double> t = r.end_time ? r.end_time : r.begin_time;
        if (t && (!last_failed || *t > *last_failed)) last_failed = t;
      }
      if (!Completed(r)) continue;
      double& last = last_by_type[r.type];
      last = std::max(last, *r.end_time);
      if (newest == nullptr || *r.end_time > *newest->end_time) newest = &r;
      if (oldest == nullptr || *r.end_time < *oldest->end_time) oldest = &r;
    }
    for (const auto& [status, count] : by_status) {
      out.Gauge("pgdr_backups", "Backups in the store by status.", With("status", status), count);
    }
    for (const auto& [type, t] : last_by_type) {
      out.Gauge("pgdr_backup_last_completed_timestamp_seconds",
                "End time of the newest completed backup, by type.", With("type", type), t);
    }
    if (last_failed) {
      out.Gauge("pgdr_backup_last_failed_timestamp_seconds", "Time of the newest failed backup.",
                Base(), *last_failed);
    }
    if (newest != nullptr) {
      if (newest->begin_time) {
        out.Gauge("pgdr_backup_last_duration_seconds", "Duration of the newest completed backup.",
                  Base(), *newest->end_time - *newest->begin_time);
      }
      if (newest->size_bytes) {
        out.Gauge("pgdr_backup_last_size_bytes", "Size of the newest completed backup.", Base(),
                  *newest->size_bytes);
      }
    }
    if (oldest != nullptr) {
      out.Gauge("pgdr_backup_first_recoverability_point_timestamp_seconds",
                "Earliest point in time a restore can reach: end of the oldest completed backup.",
                Base(), *oldest->end_time);
    }
  }

  void EmitWal(core::MetricSet& out) {
    uint64_t segments = 0;
    for (const auto& [tli, segs] : wal_.chain.segments) segments += segs.size();
    out.Gauge("pgdr_wal_archive_segments", "Complete WAL segments in the archive.", Base(),
              static_cast<double>(segments));
    out.Gauge("pgdr_wal_archive_partial_segments",
              "Partial WAL segments (.partial) in the archive.", Base(),
              static_cast<double>(wal_.partials));
    if (!wal_.newest) return;
    uint64_t segment_size = settings_.wal_segment_size;
    out.Gauge("pgdr_wal_archive_newest_segment_timestamp_seconds",
              "When the newest archived WAL segment was written.", Base(), wal_.newest_mtime);
    out.Gauge("pgdr_wal_archive_newest_lsn_bytes", "End LSN of the newest archived WAL segment.",
              Base(), static_cast<double>((wal_.newest->segno + 1) * segment_size));
    out.Gauge("pgdr_wal_archive_newest_timeline_id", "Timeline of the newest archived segment.",
              Base(), wal_.newest->timeline);
    // The chain must be complete from the oldest completed backup's first segment.
    std::optional<SegmentId> start;
    for (const auto& [id, r] : catalog_) {
      if (!Completed(r) || !r.begin_wal) continue;
      if (!start || r.begin_wal->segno < start->segno) start = r.begin_wal;
    }
    if (!start) {
      for (const auto& [tli, segs] : wal_.chain.segments) {
        if (!segs.empty() && (!start || segs.min() < start->segno))
          start = SegmentId{tli, segs.min()};
      }
    }
    GapReport gap = ComputeGap(wal_.chain, *start, segment_size);
    out.Gauge("pgdr_wal_archive_gap_segments",
              "WAL segments missing between the oldest backup's start and the newest segment.",
              Base(), static_cast<double>(gap.missing));
    if (gap.missing > 0 && gap.first_missing && reported_gap_ != gap.first_missing) {
      reported_gap_ = gap.first_missing;
      core::Log(core::LogLevel::kWarn, "WAL archive has a gap",
                {{"cluster", settings_.cluster},
                 {"store", settings_.name},
                 {"first_missing", SegmentName(*gap.first_missing, segment_size)},
                 {"missing", std::to_string(gap.missing)}});
    }
    out.Gauge("pgdr_wal_archive_history_missing",
              "1 if the newest timeline's history file is absent or unreadable.", Base(),
              gap.history_missing || wal_.histories_unreadable.contains(gap.timeline) ? 1 : 0);
  }

  BackupStoreConfig settings_;
  Clock::time_point deadline_;
  std::unique_ptr<ObjectStore> store_;  // owns the driver; its stats are the request metrics
  DeadlineStore guarded_;               // what the poll uses
  std::unique_ptr<Layout> layout_;
  std::map<std::string, BackupRecord> catalog_;
  WalState wal_;
  std::optional<Clock::time_point> last_full_;
  bool polled_once_ = false;
  uint64_t parse_errors_ = 0;
  std::optional<SegmentId> reported_gap_;
};

}  // namespace

core::Result<BackupStoreConfig> ParseBackupStore(const config::YamlReader& reader,
                                                 const YAML::Node& entry) {
  BackupStoreConfig settings;
  core::Status parsed =
      config::GuardYaml(reader.file(), [&] { settings = ParseSettings(reader, entry); });
  if (!parsed.ok()) return parsed;
  return settings;
}

core::Result<std::vector<BackupStoreConfig>> ParseBackupStores(const config::YamlReader& reader,
                                                               const YAML::Node& list) {
  std::vector<BackupStoreConfig> out;
  if (!list || list.IsNull()) return out;
  for (const auto& entry : list) {
    auto store = ParseBackupStore(reader, entry);
    if (!store.ok()) return store.status();
    out.push_back(std::move(*store));
  }
  return out;
}

core::Result<std::unique_ptr<BackupMonitor>> MakeBackupMonitor(const BackupStoreConfig& config) {
  const std::string where = config.where + ": backup store \"" + config.name + "\": ";
  core::Result<std::unique_ptr<ObjectStore>> store = MakeObjectStore(config.store);
  if (!store.ok()) return core::Status::InvalidArgument(where + store.status().message());
  LayoutOptions options;
  options.server_name = config.server_name;
  options.stanza = config.stanza;
  options.pattern = config.pattern;
  options.segment_size = config.wal_segment_size;
  core::Result<std::unique_ptr<Layout>> layout = MakeLayout(config.layout, options);
  if (!layout.ok()) return core::Status::InvalidArgument(where + layout.status().message());
  return std::unique_ptr<BackupMonitor>(
      std::make_unique<Monitor>(config, std::move(*store), std::move(*layout)));
}

core::Result<std::unique_ptr<BackupMonitor>> MakeBackupMonitor(const config::YamlReader& reader,
                                                               const YAML::Node& entry) {
  auto config = ParseBackupStore(reader, entry);
  if (!config.ok()) return config.status();
  return MakeBackupMonitor(*config);
}

}  // namespace pgdr::store

#include "pgdr/store/backup_monitor.h"

#include "pgdr/core/log.h"
#include "pgdr/store/archive.h"
#include "pgdr/store/object_store.h"
#include "pgdr/store/wal.h"
#include "store/layout.h"

namespace pgdr::store {
namespace {

using Clock = std::chrono::steady_clock;

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
  Monitor(StoreSettings settings, std::unique_ptr<ObjectStore> store,
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
          static_cast<double>((wal_.newest->segno + 1) * settings_.layout_options.segment_size);
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
    auto errors = [this](const std::string& key, const std::string& msg) { ParseError(key, msg); };
    uint64_t segment_size = settings_.layout_options.segment_size;
    if (!full) return ListWal(guarded_, prefix, segment_size, wal_, errors);
    WalListing fresh;
    s = ListWal(guarded_, prefix, segment_size, fresh, errors);
    if (s.ok()) wal_ = std::move(fresh);
    return s;
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
      if (!r.Completed()) continue;
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
    uint64_t segment_size = settings_.layout_options.segment_size;
    out.Gauge("pgdr_wal_archive_newest_segment_timestamp_seconds",
              "When the newest archived WAL segment was written.", Base(), wal_.newest_mtime);
    out.Gauge("pgdr_wal_archive_newest_lsn_bytes", "End LSN of the newest archived WAL segment.",
              Base(), static_cast<double>((wal_.newest->segno + 1) * segment_size));
    out.Gauge("pgdr_wal_archive_newest_timeline_id", "Timeline of the newest archived segment.",
              Base(), wal_.newest->timeline);
    // The chain must be complete from the oldest completed backup's first segment.
    std::optional<SegmentId> start;
    for (const auto& [id, r] : catalog_) {
      if (!r.Completed() || !r.begin_wal) continue;
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

  StoreSettings settings_;
  Clock::time_point deadline_;
  std::unique_ptr<ObjectStore> store_;  // owns the driver; its stats are the request metrics
  DeadlineStore guarded_;               // what the poll uses
  std::unique_ptr<Layout> layout_;
  std::map<std::string, BackupRecord> catalog_;
  WalListing wal_;
  std::optional<Clock::time_point> last_full_;
  bool polled_once_ = false;
  uint64_t parse_errors_ = 0;
  std::optional<SegmentId> reported_gap_;
};

}  // namespace

core::Result<std::unique_ptr<BackupMonitor>> MakeBackupMonitor(const config::YamlReader& reader,
                                                               const YAML::Node& entry) {
  core::Result<StoreSettings> parsed = ParseStoreSettings(reader, entry);
  if (!parsed.ok()) return parsed.status();
  return MakeBackupMonitor(*parsed);
}

core::Result<std::unique_ptr<BackupMonitor>> MakeBackupMonitor(StoreSettings settings) {
  std::string where = settings.where + ": backup store \"" + settings.name + "\": ";
  core::Result<std::unique_ptr<ObjectStore>> store = MakeObjectStore(settings.store_options);
  if (!store.ok()) return core::Status::InvalidArgument(where + store.status().message());
  core::Result<std::unique_ptr<Layout>> layout =
      MakeLayout(settings.layout, settings.layout_options);
  if (!layout.ok()) return core::Status::InvalidArgument(where + layout.status().message());
  return std::unique_ptr<BackupMonitor>(
      std::make_unique<Monitor>(std::move(settings), std::move(*store), std::move(*layout)));
}

}  // namespace pgdr::store

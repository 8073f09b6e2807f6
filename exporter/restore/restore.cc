// The restore engine: choose the base backup, check the WAL chain, fetch,
// start the scratch server, wait for the target, verify, stop and clean up.
#include "pgdr/restore/restore.h"

#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "pgdr/collect/pg_connect.h"
#include "pgdr/core/log.h"
#include "pgdr/restore/driver.h"
#include "restore/scratch_server.h"

namespace pgdr::restore {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool PortFree(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return free;
}

// One restore in progress: the report it fills and what it must undo.
class Restore {
 public:
  explicit Restore(const RestoreRequest& request) : req_(request) {
    report_.store = req_.store.name;
    report_.cluster = req_.store.cluster;
    report_.data_dir = req_.data_dir;
    report_.port = req_.port;
    report_.started_at = UnixNow();
  }

  RestoreReport Run() {
    const Clock::time_point started = Clock::now();
    bool ok = Steps();
    report_.total_seconds = Seconds(started);
    if (ok) {
      report_.result = "ok";
      report_.step.clear();
    }
    Finish(ok);
    report_.finished_at = UnixNow();
    return report_;
  }

 private:
  bool Fail(std::string result, std::string step, std::string object, std::string message) {
    report_.result = std::move(result);
    report_.step = std::move(step);
    report_.object = std::move(object);
    report_.message = std::move(message);
    core::Log(core::LogLevel::kWarn, "restore failed",
              {{"cluster", report_.cluster},
               {"store", report_.store},
               {"step", report_.step},
               {"object", report_.object},
               {"result", report_.result},
               {"error", report_.message}});
    return false;
  }

  bool Cancelled() const { return req_.cancel != nullptr && req_.cancel->load(); }

  bool Steps() {
    core::Result<std::unique_ptr<RestoreDriver>> driver = MakeRestoreDriver(req_.store);
    if (!driver.ok())
      return Fail("internal", "prepare", req_.store.name, driver.status().message());
    driver_ = std::move(*driver);
    logical_ = driver_->Logical();
    if (logical_ && req_.target.kind != RecoveryTarget::Kind::kLatest &&
        req_.target.kind != RecoveryTarget::Kind::kTime) {
      return Fail("unsupported_target", "choose", req_.target.Describe(),
                  "store " + req_.store.name + " holds pg_dump files, which have no WAL: the " +
                      "target " + req_.target.Describe() +
                      " cannot be reached (latest or a time target picks a dump)");
    }
    return Catalog() && Choose() && CheckWal() && Prepare() && Fetch() && Replay() && Load() &&
           Verify();
  }

  bool Catalog() {
    store::StoreSettings settings = req_.store;
    settings.store_options.timeout =
        std::min(settings.store_options.timeout, req_.timeouts.catalog);
    core::Result<store::Archive> archive =
        store::ReadArchive(settings, [this](const std::string& key, const std::string& message) {
          core::Log(core::LogLevel::kWarn, "restore: unparseable catalog object",
                    {{"store", report_.store}, {"key", key}, {"error", message}});
        });
    if (!archive.ok()) {
      return Fail("store_unreachable", "catalog", req_.store.store_options.url,
                  archive.status().message());
    }
    archive_ = std::move(*archive);
    return true;
  }

  bool Choose() {
    std::vector<const store::BackupRecord*> done;
    for (const store::BackupRecord& b : archive_.backups) {
      if (b.Completed() && (b.begin_wal || logical_)) done.push_back(&b);
    }
    std::sort(done.begin(), done.end(),
              [](const auto* a, const auto* b) { return *a->end_time < *b->end_time; });
    if (!req_.backup_id.empty()) {
      auto it = std::find_if(done.begin(), done.end(),
                             [&](const auto* b) { return b->id == req_.backup_id; });
      if (it == done.end()) {
        return Fail("no_backup", "choose", req_.backup_id,
                    "no completed backup \"" + req_.backup_id + "\" in the store");
      }
      backup_ = *it;
    } else if (done.empty()) {
      return Fail("no_backup", "choose", req_.store.store_options.url,
                  logical_ ? "the store holds no dump matching " + req_.store.layout_options.pattern
                           : "the store holds no completed base backup of server " +
                                 req_.store.layout_options.server_name);
    } else {
      backup_ = Precedes(done);
      if (backup_ == nullptr) {
        return Fail("target_before_backup", "choose", req_.target.value,
                    "the target " + req_.target.Describe() +
                        " precedes the end of the oldest backup (" + done.front()->id + ")");
      }
    }
    report_.backup_id = backup_->id;
    report_.backup_end_time = backup_->end_time;
    core::Log(core::LogLevel::kInfo, "restore: base backup chosen",
              {{"cluster", report_.cluster},
               {"store", report_.store},
               {"backup", backup_->id},
               {"target", req_.target.Describe()}});
    return true;
  }

  // The newest backup that ends before the target (time, LSN); the newest
  // for targets that the catalog cannot place (xid, latest, immediate). A
  // dump ends when its object was written.
  const store::BackupRecord* Precedes(const std::vector<const store::BackupRecord*>& done) const {
    const uint64_t segment_size = req_.store.layout_options.segment_size;
    for (auto it = done.rbegin(); it != done.rend(); ++it) {
      const store::BackupRecord& b = **it;
      if (req_.target.kind == RecoveryTarget::Kind::kTime) {
        std::optional<double> t = store::ParseIso8601(req_.target.value);
        if (t && *b.end_time >= *t) continue;
      } else if (req_.target.kind == RecoveryTarget::Kind::kLsn) {
        std::optional<uint64_t> lsn = store::ParseLsn(req_.target.value);
        if (lsn && b.begin_wal && b.begin_wal->segno * segment_size > *lsn) continue;
      }
      return &b;
    }
    return nullptr;
  }

  bool CheckWal() {
    if (logical_) return true;  // a dump is the whole restore
    const uint64_t segment_size = req_.store.layout_options.segment_size;
    const store::SegmentId start = *backup_->begin_wal;
    report_.first_segment = store::SegmentName(start, segment_size);
    if (archive_.wal.newest)
      report_.last_segment = store::SegmentName(*archive_.wal.newest, segment_size);
    store::GapReport gap = store::ComputeGap(archive_.wal.chain, start, segment_size);
    const bool empty = !archive_.wal.newest || archive_.wal.newest->segno < start.segno;
    if (empty) {
      gap.missing = std::max<uint64_t>(gap.missing, 1);
      gap.first_missing = start;
    }
    if (req_.target.kind == RecoveryTarget::Kind::kLsn && archive_.wal.newest) {
      std::optional<uint64_t> lsn = store::ParseLsn(req_.target.value);
      if (lsn && *lsn >= (archive_.wal.newest->segno + 1) * segment_size) {
        return Fail("target_after_archive", "check_wal", report_.last_segment,
                    "the target " + req_.target.Describe() +
                        " is after the end of the newest archived segment " + report_.last_segment);
      }
    }
    if (gap.missing == 0 || !gap.first_missing) return true;
    gap_segment_ = store::SegmentName(*gap.first_missing, segment_size);
    bool fatal = req_.target.kind == RecoveryTarget::Kind::kLatest || empty;
    if (req_.target.kind == RecoveryTarget::Kind::kLsn) {
      std::optional<uint64_t> lsn = store::ParseLsn(req_.target.value);
      fatal = !lsn || gap.first_missing->segno * segment_size <= *lsn;
    }
    if (fatal) {
      return Fail("wal_gap", "check_wal", req_.store.store_options.url + " WAL " + gap_segment_,
                  std::to_string(gap.missing) + " WAL segment(s) missing after backup " +
                      backup_->id + ", first " + gap_segment_);
    }
    return true;  // a gap after a time or xid target may not matter; replay decides
  }

  bool Prepare() {
    std::error_code ec;
    if (fs::exists(req_.data_dir, ec) && !fs::is_empty(req_.data_dir, ec)) {
      return Fail("internal", "prepare", req_.data_dir,
                  "the scratch data directory exists and is not empty");
    }
    fs::create_directories(req_.data_dir, ec);
    if (ec) return Fail("internal", "prepare", req_.data_dir, "cannot create: " + ec.message());
    created_dir_ = true;
    fs::permissions(req_.data_dir, fs::perms::owner_all, ec);
    if (!req_.run_as.empty() && geteuid() == 0) {
      passwd* pw = getpwnam(req_.run_as.c_str());
      if (pw == nullptr) return Fail("internal", "prepare", req_.run_as, "no such OS user");
      if (chown(req_.data_dir.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        return Fail("internal", "prepare", req_.data_dir, "cannot chown to " + req_.run_as);
      }
    }
    struct statvfs vfs {};
    if (statvfs(req_.data_dir.c_str(), &vfs) == 0) {
      double free_bytes = static_cast<double>(vfs.f_bavail) * static_cast<double>(vfs.f_frsize);
      double limit = req_.max_disk_bytes ? std::min(*req_.max_disk_bytes, free_bytes) : free_bytes;
      const double wal = WalBytes();
      const double size = backup_->size_bytes.value_or(0);  // unknown: the WAL alone
      if (size + wal > limit) {
        return Fail("disk_full", "prepare", req_.data_dir,
                    "backup " + backup_->id + " needs " +
                        std::to_string(static_cast<uint64_t>(size)) + " bytes and its WAL up to " +
                        std::to_string(static_cast<uint64_t>(wal)) + " bytes, the limit is " +
                        std::to_string(static_cast<uint64_t>(limit)));
      }
    }
    if (req_.port <= 0 || !PortFree(req_.port)) {
      return Fail("port_in_use", "prepare", "127.0.0.1:" + std::to_string(req_.port),
                  "the scratch port is in use");
    }
    return true;
  }

  // What replay may write to pg_wal: every archived segment from the backup's
  // first to the newest (PostgreSQL keeps restored segments until a
  // restartpoint), plus the one it writes after promotion.
  double WalBytes() const {
    if (logical_) return 0;
    const uint64_t segment_size = req_.store.layout_options.segment_size;
    const uint64_t first = backup_->begin_wal->segno;
    const uint64_t newest = archive_.wal.newest ? archive_.wal.newest->segno : first;
    const uint64_t segments = newest >= first ? newest - first + 2 : 1;
    return static_cast<double>(segments) * static_cast<double>(segment_size);
  }

  bool Fetch() {
    const Clock::time_point started = Clock::now();
    core::Status fetched = driver_->Fetch(
        *backup_, req_.target,
        {req_.data_dir, req_.run_as, req_.timeouts.fetch, req_.cancel, req_.pg_bin, req_.db_user});
    report_.fetch_seconds = Seconds(started);
    if (Cancelled())
      return Fail("cancelled", "fetch", driver_->BackupObject(*backup_), "cancelled");
    if (!fetched.ok()) {
      bool full = fetched.message().find("No space left") != std::string::npos;
      return Fail(full ? "disk_full" : "fetch_failed", "fetch", driver_->BackupObject(*backup_),
                  fetched.message());
    }
    return true;
  }

  bool Replay() {
    server_ = ScratchServer{req_.data_dir, req_.run_as,  req_.pg_bin,
                            req_.db_user,  req_.db_name, req_.port};
    if (core::Status s = IsolateScratch(server_); !s.ok()) {
      return Fail("start_failed", "replay", req_.data_dir, s.message());
    }
    const Clock::time_point started = Clock::now();
    core::Status s = StartScratch(server_, driver_->environment(), req_.timeouts.stop);
    if (!s.ok()) return Fail("start_failed", "replay", server_.LogPath(), s.message());
    started_server_ = true;
    // A dump's database does not exist until Load() creates it: wait in postgres.
    ScratchServer waited = server_;
    if (logical_) waited.db_name = "postgres";
    WaitOutcome outcome = WaitForRecovery(waited, req_.target, req_.timeouts.replay, req_.cancel);
    report_.replay_seconds = Seconds(started);
    if (outcome.result != "ok") {
      std::string result = outcome.result;
      std::string object = server_.LogPath();
      if (result == "target_not_reached" && !gap_segment_.empty()) {
        result = "wal_gap";
        object = req_.store.store_options.url + " WAL " + gap_segment_;
      } else if (result == "disk_full") {
        object = req_.data_dir;
      } else if (result == "target_not_reached") {
        // The chain is complete: replay ran out of archived WAL before the
        // target, so the target lies after the newest archived segment.
        result = "target_after_archive";
        object = req_.store.store_options.url + " WAL " + report_.last_segment;
        report_.recovered_lsn = outcome.state.lsn;
        return Fail(result, "replay", object, AfterArchiveMessage(outcome));
      }
      return Fail(result, "replay", object, outcome.message);
    }
    replay_started_ = started;
    if (logical_) return true;  // Load() goes on, within the replay phase
    report_.recovered_lsn = outcome.state.lsn;
    report_.recovered_time = outcome.state.time;
    const uint64_t begin = backup_->begin_wal->segno * req_.store.layout_options.segment_size;
    if (outcome.state.lsn && *outcome.state.lsn > begin) {
      report_.wal_replayed_bytes = *outcome.state.lsn - begin;
    }
    return true;
  }

  // A logical driver's load into the running server: the `replay` phase of
  // a dump, bounded by what is left of replay_timeout.
  bool Load() {
    if (!logical_) return true;
    const milliseconds left = req_.timeouts.replay - std::chrono::duration_cast<milliseconds>(
                                                         Clock::now() - replay_started_);
    core::Status loaded =
        driver_->Load({req_.data_dir, req_.port, req_.db_user, req_.db_name, req_.run_as,
                       req_.pg_bin, std::max(left, milliseconds(1000)), req_.cancel});
    report_.replay_seconds = Seconds(replay_started_);
    const std::string object = driver_->BackupObject(*backup_);
    if (Cancelled()) return Fail("cancelled", "load", object, "cancelled");
    if (!loaded.ok()) {
      const std::string& m = loaded.message();
      const char* result = m.find("No space left") != std::string::npos    ? "disk_full"
                           : loaded.code() == core::Status::Code::kTimeout ? "replay_timeout"
                                                                           : "load_failed";
      return Fail(result, "load", object, m);
    }
    report_.recovered_time = backup_->end_time;  // the dump's own point in time
    return true;
  }

  // What a DBA needs to pick a reachable target: where replay ended and
  // what the archive holds, beside PostgreSQL's own words.
  std::string AfterArchiveMessage(const WaitOutcome& outcome) const {
    std::string text = "the target " + req_.target.Describe() +
                       " is after the newest WAL in store " + report_.store + " (" +
                       req_.store.store_options.url + "): replay ended at LSN " +
                       (outcome.redo_done.empty() ? "unknown" : outcome.redo_done);
    if (!outcome.last_commit.empty()) text += ", last replayed commit at " + outcome.last_commit;
    text += ", in the newest archived segment " + report_.last_segment +
            " (PostgreSQL: " + outcome.message + ")";
    return text;
  }

  bool Verify() {
    if (req_.verify.empty()) return true;
    const Clock::time_point started = Clock::now();
    core::Result<collect::PgConnPtr> conn = ConnectScratch(server_, req_.timeouts.verify);
    if (!conn.ok()) return Fail("verify_failed", "verify", server_.Dsn(), conn.status().message());
    for (const Verification& v : req_.verify) {
      core::Result<std::string> got = collect::QueryText(conn->get(), v.sql);
      report_.verify_seconds = Seconds(started);
      if (!got.ok()) return Fail("verify_failed", "verify", v.sql, got.status().message());
      std::optional<std::string> expect = v.expect;
      if (v.compare_with_primary) {
        core::Result<std::string> want = QueryPrimary(v.sql);
        if (!want.ok()) {
          return Fail("verify_failed", "verify", "primary " + req_.primary_name + ": " + v.sql,
                      want.status().message());
        }
        expect = *want;
      }
      if (expect && *got != *expect) {
        return Fail("verify_mismatch", "verify", v.sql,
                    "returned \"" + *got + "\", expected \"" + *expect + "\"" +
                        (v.compare_with_primary ? " (the primary's)" : ""));
      }
      if (Seconds(started) * 1000 > static_cast<double>(req_.timeouts.verify.count())) {
        return Fail("verify_failed", "verify", v.sql, "verification exceeded its timeout");
      }
    }
    report_.verify_seconds = Seconds(started);
    return true;
  }

  core::Result<std::string> QueryPrimary(const std::string& sql) {
    if (req_.primary_dsn.empty()) {
      return core::Status::Unavailable("no primary of cluster " + report_.cluster + " answered");
    }
    if (!primary_) {
      core::Result<collect::PgConnPtr> conn = collect::ConnectBlocking(
          req_.primary_dsn, req_.primary_password, req_.timeouts.verify, "pgdr_restore", true);
      if (!conn.ok()) return conn.status();
      primary_ = std::move(*conn);
    }
    return collect::QueryText(primary_.get(), sql);
  }

  void Finish(bool ok) {
    if (started_server_ && ok && req_.keep_running) {
      report_.running = true;
      return;
    }
    if (started_server_) {
      core::Status s =
          StopScratchServer(req_.data_dir, req_.run_as, req_.pg_bin, req_.timeouts.stop);
      if (!s.ok()) {
        core::Log(core::LogLevel::kWarn, "restore: scratch server did not stop",
                  {{"data_dir", req_.data_dir}, {"error", s.message()}});
      }
    }
    if (created_dir_ && !req_.keep_data && !req_.keep_running) {
      std::error_code ec;
      fs::remove_all(req_.data_dir, ec);
    }
  }

  const RestoreRequest& req_;
  RestoreReport report_;
  std::unique_ptr<RestoreDriver> driver_;
  store::Archive archive_;
  const store::BackupRecord* backup_ = nullptr;
  std::string gap_segment_;
  ScratchServer server_;
  collect::PgConnPtr primary_;  // opened by the first compare_with_primary
  bool logical_ = false;        // the driver loads a dump (no WAL)
  Clock::time_point replay_started_;
  bool created_dir_ = false;
  bool started_server_ = false;
};

}  // namespace

RestoreReport RunRestore(const RestoreRequest& request) { return Restore(request).Run(); }

core::Result<int> FindFreePort(int first, int last) {
  for (int port = first; port <= last; ++port) {
    if (PortFree(port)) return port;
  }
  return core::Status::NotFound("no free port in " + std::to_string(first) + "-" +
                                std::to_string(last));
}

}  // namespace pgdr::restore

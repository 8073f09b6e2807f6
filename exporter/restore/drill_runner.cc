// The drill thread: one drill at a time, each on its own schedule.
#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "pgdr/collect/pg_connect.h"
#include "pgdr/core/log.h"
#include "pgdr/core/time_format.h"
#include "pgdr/restore/drills.h"
#include "restore/report_json.h"

namespace pgdr::restore {
namespace {

using SystemClock = std::chrono::system_clock;

double Unix(SystemClock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// The member that answers as not in recovery, for compare_with_primary;
// none: the request keeps an empty DSN and those verifications fail.
void FindPrimary(const DrillSpec& spec, RestoreRequest& req) {
  for (const config::TargetConfig& m : spec.members) {
    std::string password = collect::ResolvePassword(m.password_env, m.password_file);
    core::Result<collect::PgConnPtr> conn =
        collect::ConnectBlocking(m.dsn, password, milliseconds(5000), "pgdr_restore", true);
    if (!conn.ok()) continue;
    core::Result<std::string> recovery =
        collect::QueryText(conn->get(), "SELECT pg_is_in_recovery()");
    if (recovery.ok() && *recovery == "f") {
      req.primary_dsn = m.dsn;
      req.primary_password = std::move(password);
      req.primary_name = m.member;
      return;
    }
  }
}

}  // namespace

DrillRunner::DrillRunner() : thread_([this] { Loop(); }) {}

DrillRunner::~DrillRunner() {
  {
    core::MutexLock lock(mu_);
    stopping_ = true;
  }
  cancel_ = true;
  cv_.notify_all();
  thread_.join();
}

void DrillRunner::Update(std::vector<DrillSpec> specs) {
  {
    core::MutexLock lock(mu_);
    std::map<std::string, Entry> next;
    const SystemClock::time_point now = SystemClock::now();
    for (DrillSpec& spec : specs) {
      std::string cluster = spec.cluster;
      auto old = entries_.find(cluster);
      Entry entry;
      if (old != entries_.end()) entry = std::move(old->second);
      if (old == entries_.end() || !(entry.spec == spec)) {
        entry.next = spec.run_at_start ? now : spec.NextRun(now);
      }
      entry.spec = std::move(spec);
      next.emplace(cluster, std::move(entry));
    }
    entries_ = std::move(next);
  }
  cv_.notify_all();
}

void DrillRunner::Loop() {
  core::MutexLock lock(mu_);
  while (!stopping_) {
    auto due = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (due == entries_.end() || it->second.next < due->second.next) due = it;
    }
    if (due == entries_.end()) {
      cv_.wait(lock);
      continue;
    }
    if (SystemClock::now() < due->second.next) {
      cv_.wait_until(lock, due->second.next);
      continue;
    }
    const std::string cluster = due->first;
    const DrillSpec spec = due->second.spec;
    due->second.running = true;
    lock.unlock();
    RestoreReport report = RunDrill(spec);
    lock.lock();
    auto entry = entries_.find(cluster);
    if (entry == entries_.end()) continue;  // dropped by a reload meanwhile
    entry->second.running = false;
    ++entry->second.runs[report.result];
    if (report.ok()) entry->second.last_success = report;
    entry->second.last = std::move(report);
    entry->second.next = entry->second.spec.NextRun(SystemClock::now());
  }
}

RestoreReport DrillRunner::RunDrill(const DrillSpec& spec) {
  namespace fs = std::filesystem;
  const SystemClock::time_point now = SystemClock::now();
  RestoreRequest req;
  req.store = spec.store;
  if (spec.target_age) {
    req.target.kind = RecoveryTarget::Kind::kTime;
    req.target.value = core::FormatRfc3339(now - *spec.target_age, core::Fraction::kMilliseconds);
  }
  req.run_as = spec.run_as;
  req.max_disk_bytes = spec.max_disk_bytes;
  req.verify = spec.verify;
  req.timeouts = spec.timeouts;
  req.pg_bin = spec.pg_bin;
  req.cancel = &cancel_;
  if (std::any_of(spec.verify.begin(), spec.verify.end(),
                  [](const Verification& v) { return v.compare_with_primary; })) {
    FindPrimary(spec, req);
  }
  std::error_code ec;
  fs::create_directories(spec.scratch_dir, ec);
  // The server's OS user must traverse to its data directory below.
  fs::permissions(spec.scratch_dir,
                  fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec, ec);
  req.data_dir = spec.scratch_dir + "/" + spec.cluster + "-" +
                 std::to_string(static_cast<long long>(Unix(now)));
  core::Result<int> port = FindFreePort(spec.port_first, spec.port_last);
  // None free: the first, so that the drill fails as port_in_use naming it.
  req.port = port.ok() ? *port : spec.port_first;
  core::Log(core::LogLevel::kInfo, "restore drill started",
            {{"cluster", spec.cluster},
             {"store", spec.store.name},
             {"target", req.target.Describe()},
             {"data_dir", req.data_dir}});
  RestoreReport report = RunRestore(req);
  core::Log(report.ok() ? core::LogLevel::kInfo : core::LogLevel::kWarn, "restore drill finished",
            {{"cluster", spec.cluster},
             {"store", spec.store.name},
             {"result", report.result},
             {"step", report.step},
             {"object", report.object},
             {"error", report.message},
             {"total_seconds", std::to_string(report.total_seconds)}});
  return report;
}

void DrillRunner::AppendMetrics(core::MetricSet& out) const {
  core::MutexLock lock(mu_);
  for (const auto& [cluster, e] : entries_) {
    core::Labels base = {{"cluster", cluster}};
    auto with = [&](const char* name, const std::string& value) {
      core::Labels labels = base;
      labels.push_back({name, value});
      return labels;
    };
    out.Gauge("pgdr_restore_drill_running", "1 while a restore drill of the cluster runs.", base,
              e.running ? 1 : 0);
    for (const auto& [result, count] : e.runs) {
      out.Counter("pgdr_restore_drills_total", "Restore drills run, by result.",
                  with("result", result), static_cast<double>(count));
    }
    if (e.last) {
      const RestoreReport& r = *e.last;
      out.Gauge("pgdr_restore_drill_last_run_timestamp_seconds",
                "When the last restore drill ended, whatever its result.", base, r.finished_at);
      out.Gauge("pgdr_restore_drill_last_result", "1 for the result of the last restore drill.",
                with("result", r.result), 1);
      for (const auto& [phase, seconds] :
           {std::pair{"fetch", r.fetch_seconds}, std::pair{"replay", r.replay_seconds},
            std::pair{"verify", r.verify_seconds}, std::pair{"total", r.total_seconds}}) {
        out.Gauge("pgdr_restore_drill_duration_seconds",
                  "Duration of the last restore drill by phase; total is the measured RTO.",
                  with("phase", phase), seconds);
      }
    }
    // 0 once a drill ran but none succeeded, so that PostgresRestoreDrillStale
    // fires for a cluster whose drills always fail.
    if (e.last) {
      out.Gauge("pgdr_restore_drill_last_success_timestamp_seconds",
                "When the last restore drill that verified ended (0: none yet).", base,
                e.last_success ? e.last_success->finished_at : 0);
    }
    if (e.last_success) {
      const RestoreReport& r = *e.last_success;
      if (r.recovered_lsn) {
        out.Gauge("pgdr_restore_drill_recovered_lsn_bytes",
                  "LSN the last successful restore drill recovered to.", base,
                  static_cast<double>(*r.recovered_lsn));
      }
      if (r.recovered_time) {
        out.Gauge("pgdr_restore_drill_recovered_timestamp_seconds",
                  "Commit time of the last transaction the last successful drill replayed.", base,
                  *r.recovered_time);
      }
    }
  }
}

std::string DrillRunner::Json() const {
  core::MutexLock lock(mu_);
  nlohmann::json drills = nlohmann::json::array();
  for (const auto& [cluster, e] : entries_) {
    nlohmann::json j = {
        {"cluster", cluster},
        {"store", e.spec.store.name},
        {"interval", e.spec.schedule ? nlohmann::json(nullptr)
                                     : nlohmann::json(config::FormatDuration(e.spec.interval))},
        {"schedule", e.spec.schedule ? nlohmann::json(e.spec.schedule->text()) : nullptr},
        {"target", e.spec.target_age ? "now - " + config::FormatDuration(*e.spec.target_age)
                                     : std::string("latest")},
        {"running", e.running},
        {"next_run", core::FormatRfc3339(e.next, core::Fraction::kMilliseconds)}};
    j["last"] = e.last ? ReportJson(*e.last) : nullptr;
    j["last_success"] = e.last_success ? ReportJson(*e.last_success) : nullptr;
    drills.push_back(std::move(j));
  }
  return nlohmann::json{{"status", "success"}, {"data", {{"drills", drills}}}}.dump();
}

}  // namespace pgdr::restore

// Restore drills: a scheduled restore of each configured cluster into a
// scratch directory, verified and thrown away, whose measured durations are
// the RTO that `pgdr_restore_drill_*` export and PostgresRestoreDrillStale
// watches.
//
// Why a thread of its own, one drill at a time: a drill fetches a whole base
// backup and replays WAL for minutes; it must never delay collection, store
// polls or /metrics, and two drills at once would double the disk and CPU a
// drill is allowed. Drills reach the scrape only through AppendMetrics(),
// which copies the last results under a short lock.
//
// Config (`drills:` in pgdr.yml, one entry per cluster; keys in
// docs/restore.md): cluster, store, interval or schedule (a cron
// expression, UTC), target (`latest` or
// `now - <duration>`), scratch_dir, port_range, max_disk, run_as,
// run_at_start, fetch_timeout, replay_timeout, verify (sql + expect).
//
// Thread-safety: every public method may be called from any thread.
// Ownership: the runner owns its thread; the destructor stops and joins it
// (a drill in progress is cancelled: its tool killed, its server stopped,
// its scratch data removed).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "pgdr/config/config.h"
#include "pgdr/core/cron.h"
#include "pgdr/core/metric_set.h"
#include "pgdr/core/mutex.h"
#include "pgdr/core/status.h"
#include "pgdr/restore/restore.h"

namespace pgdr::restore {

struct DrillSpec {
  std::string cluster;
  store::StoreSettings store;
  milliseconds interval{std::chrono::hours(7 * 24)};
  std::optional<core::CronSchedule> schedule;  // instead of interval when set
  std::optional<milliseconds> target_age;      // "now - X"; absent: latest
  std::string scratch_dir = "/var/tmp/pgdr-drills";
  int port_first = 15432, port_last = 15531;
  std::optional<double> max_disk_bytes;
  std::string run_as;  // default: "postgres" when the exporter runs as root
  bool run_at_start = true;
  std::vector<Verification> verify;
  StepTimeouts timeouts;
  std::string pg_bin = "/usr/lib/postgresql/15/bin";
  std::string where;  // file:line:col of the entry
  // The cluster's members (from `targets`), where a drill looks for the
  // primary that compare_with_primary verifications query.
  std::vector<config::TargetConfig> members;

  bool operator==(const DrillSpec& o) const;
  // When the drill runs next if the last one ended (or the schedule was
  // loaded) at `after`: after + interval, or the schedule's next minute.
  std::chrono::system_clock::time_point NextRun(std::chrono::system_clock::time_point after) const;
};

// Validates the config's `drills:` section (config::OwnedSections::drills)
// against its parsed backup stores; errors name file:line:col and the key.
core::Result<std::vector<DrillSpec>> ParseDrills(const config::YamlReader& reader,
                                                 const YAML::Node& drills,
                                                 const std::vector<store::StoreSettings>& stores);

class DrillRunner {
 public:
  DrillRunner();
  ~DrillRunner();
  DrillRunner(const DrillRunner&) = delete;
  DrillRunner& operator=(const DrillRunner&) = delete;

  // Replaces the schedule (a reload). Clusters still configured keep their
  // results and their next run, unless their spec changed (then it runs
  // next per run_at_start); a drill in progress finishes.
  void Update(std::vector<DrillSpec> specs);

  // pgdr_restore_drill_* of every configured cluster that has run.
  void AppendMetrics(core::MetricSet& out) const;
  // /api/v1/drills.
  std::string Json() const;

 private:
  struct Entry {
    DrillSpec spec;
    std::chrono::system_clock::time_point next;
    bool running = false;
    std::optional<RestoreReport> last, last_success;
    std::map<std::string, uint64_t> runs;  // by result
  };
  void Loop();
  RestoreReport RunDrill(const DrillSpec& spec);

  mutable core::Mutex mu_;
  std::condition_variable_any cv_;
  std::map<std::string, Entry> entries_ PGDR_GUARDED_BY(mu_);
  bool stopping_ PGDR_GUARDED_BY(mu_) = false;
  std::atomic<bool> cancel_{false};  // ends a drill in progress when stopping
  std::thread thread_;
};

}  // namespace pgdr::restore

// RuleManager: the exporter's built-in evaluator. Loads Prometheus rule
// files, evaluates each group on its interval against the local TSDB
// (recording rules write back into it), keeps alert state across reloads,
// and serves /api/v1/rules, /api/v1/alerts, the alerts for notifiers and its
// own metrics.
//
// Scheduling: the caller drives it. Either call Tick(now) periodically
// (every second or so) from a thread of your own, or call Start() once to
// have the manager run its own thread that ticks every 500ms on the system
// clock until Stop() (or destruction). A group is due when its aligned
// timestamp (now - now % interval) is newer than its last evaluation; it is
// evaluated at that aligned timestamp, as Prometheus does.
//
// Reload: Load() parses every file first; on any error it returns a Status
// listing them all (file:line:col) and the rules already running stay
// unchanged. On success alert state carries over for alerting rules with
// the same group, name and expression.
//
// Notifiers: after each group evaluation the manager calls
// ManagerOptions::notify with the alerts Prometheus would send then (firing
// ones at most every resend_delay, resolved ones once more on resolution and
// again per resend delay while kept for 15m), with startsAt = when it fired,
// endsAt = resolution time or evaluation + 4 * max(interval, resend delay),
// and generatorURL = external_url + "/graph?g0.expr=...&g0.tab=1".
// Alerts() returns every pending, firing and resolved alert for status pages.
//
// Thread-safety: every public method is safe to call from any thread. The
// TSDB is not owned and must outlive the manager.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "pgdr/core/metric_set.h"
#include "pgdr/core/status.h"
#include "pgdr/promql/engine.h"
#include "pgdr/rules/rule.h"
#include "pgdr/tsdb/tsdb.h"

namespace pgdr::rules {

// An alert as handed to notifiers (Alertmanager API v2 fields).
struct OutgoingAlert {
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  int64_t starts_at_ms = 0;
  int64_t ends_at_ms = 0;
  std::string generator_url;
};
// Called from the evaluating thread without the manager's locks held.
using NotifyFunc = std::function<void(const std::vector<OutgoingAlert>&)>;

struct ManagerOptions {
  int64_t default_interval_ms = 60'000;                // global evaluation_interval, default 1m
  std::map<std::string, std::string> external_labels;  // $externalLabels in templates
  std::string external_url;                            // $externalURL in templates
  promql::EngineOptions engine;      // lookback 5m; the subquery step defaults to the interval
  int64_t resend_delay_ms = 60'000;  // --rules.alert.resend-delay, default 1m
  NotifyFunc notify;                 // may be empty
};

// One alert with the rule and group it belongs to.
struct ManagedAlert {
  std::string group;
  std::string rule;
  Alert alert;
  int64_t last_eval_ms = 0;  // of its group
  int64_t interval_ms = 0;   // of its group
};

class RuleManager {
 public:
  RuleManager(tsdb::Tsdb* tsdb, ManagerOptions options);
  ~RuleManager();
  RuleManager(const RuleManager&) = delete;
  RuleManager& operator=(const RuleManager&) = delete;

  // Loads (or reloads) exactly these files; see the file comment.
  core::Status Load(const std::vector<std::string>& files);

  // Evaluates the groups that are due at `now_ms`. Returns the number of
  // groups evaluated.
  int Tick(int64_t now_ms);

  // Runs Tick on a thread of the manager's own; idempotent.
  void Start();
  void Stop();

  // Prometheus API bodies: {"status":"success","data":{...}}. `type` is the
  // API's filter: "alert" or "record" keep only that kind, "" keeps all.
  nlohmann::json RulesJson(std::string_view type = {}) const;
  nlohmann::json AlertsJson() const;

  std::vector<ManagedAlert> Alerts() const;

  // The metric names the loaded rules read (promql::SelectedMetricNames over
  // every rule); nullopt when some rule may read any series.
  std::optional<std::set<std::string>> SelectedMetricNames() const;

  // pgdr_rule_group_last_duration_seconds{group},
  // pgdr_rule_evaluation_failures_total{group}, pgdr_alerts{alertname,state},
  // pgdr_rule_group_rules{group}, pgdr_tsdb_series, pgdr_tsdb_samples,
  // pgdr_tsdb_bytes.
  void CollectMetrics(core::MetricSet& out) const;

  size_t group_count() const;

 private:
  std::vector<std::shared_ptr<Group>> Snapshot() const;

  tsdb::Tsdb* const tsdb_;
  const ManagerOptions options_;
  const promql::Engine engine_;
  const QueryFunc query_;

  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Group>> groups_;  // GUARDED_BY(mu_)
  std::mutex tick_mu_;                          // serialises Tick
  int64_t last_compact_ms_ = 0;                 // GUARDED_BY(tick_mu_)

  std::mutex thread_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;  // GUARDED_BY(thread_mu_)
  std::thread thread_;
};

}  // namespace pgdr::rules

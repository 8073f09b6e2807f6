// RuleManager: the exporter's built-in evaluator. Loads Prometheus rule
// files, evaluates each group on its interval against the local TSDB
// (recording rules write back into it), keeps alert state across reloads,
// and serves /api/v1/rules, /api/v1/alerts, the alerts for notifiers and its
// own metrics.
//
// Scheduling: the caller drives it, calling Tick(now) periodically (the
// exporter's evaluator thread does, every 500ms). A group is due when its
// aligned timestamp (now - now % interval) is newer than its last
// evaluation; it is evaluated at that aligned timestamp, as Prometheus does.
//
// Reload: Load() parses every file first; on any error it returns a Status
// listing them all (file:line:col) and the rules already running stay
// unchanged. Replace() installs groups already parsed (the exporter's
// LoadAndValidate parsed them, once). Either way alert state carries over
// for alerting rules with the same group, name and expression.
//
// Alerts: Alerts() returns every pending, firing and resolved alert with its
// group's last evaluation and interval; the exporter hands them to the
// action engine, whose notifiers decide what is sent and when.
//
// Thread-safety: every public method is safe to call from any thread. The
// TSDB is not owned and must outlive the manager.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pgdr/core/metric_set.h"
#include "pgdr/core/status.h"
#include "pgdr/promql/engine.h"
#include "pgdr/rules/rule.h"
#include "pgdr/tsdb/tsdb.h"

namespace pgdr::rules {

struct ManagerOptions {
  int64_t default_interval_ms = 60'000;                // global evaluation_interval, default 1m
  std::map<std::string, std::string> external_labels;  // $externalLabels in templates
  std::string external_url;                            // $externalURL in templates
  promql::EngineOptions engine;  // lookback 5m; the subquery step defaults to the interval
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
  // Installs these groups in place of the running ones; see the file comment.
  void Replace(std::vector<GroupSpec> groups);

  // Evaluates the groups that are due at `now_ms`. Returns the number of
  // groups evaluated.
  int Tick(int64_t now_ms);

  // Prometheus API bodies: {"status":"success","data":{...}}. `type` is the
  // API's filter: "alert" or "record" keep only that kind, "" keeps all.
  nlohmann::json RulesJson(std::string_view type = {}) const;
  nlohmann::json AlertsJson() const;

  std::vector<ManagedAlert> Alerts() const;
  // Hands alerts' ActiveAt read back after a restart to the alerting rules
  // of the same group and name (AlertingRule::RestoreForState), offered
  // until now_ms + max(3 group intervals, 1m); alerts of rules no longer
  // loaded are dropped.
  struct RestoredAlert {
    std::string group;
    std::string rule;
    tsdb::Labels labels;
    int64_t active_at_ms = 0;
  };
  void RestoreForState(const std::vector<RestoredAlert>& alerts, int64_t now_ms);

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
  struct Impl;  // manager.cc: the engine, the groups and their locks
  std::unique_ptr<Impl> impl_;
};

}  // namespace pgdr::rules

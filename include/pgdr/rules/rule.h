// Rules and groups as Prometheus 2.42 evaluates them.
//
// A Rule reaches the engine only through a QueryFunc. A RecordingRule turns
// its result into series named after the rule; an AlertingRule runs the
// alert state machine (inactive -> pending -> firing, keep_firing_for,
// resolved alerts retained 15m) and produces ALERTS / ALERTS_FOR_STATE.
// A Group evaluates its rules in order at one timestamp and appends their
// output, with staleness markers for series that disappear.
//
// Thread-safety: Group::Eval and Group::RestoreFrom lock Group::mutex();
// anyone else reading a group's rules or alerts (API, metrics) must hold it
// too (the accessors say so: PGDR_REQUIRES). RuleManager does all of this for
// its callers.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "pgdr/core/mutex.h"
#include "pgdr/core/status.h"
#include "pgdr/promql/engine.h"
#include "pgdr/rules/rule_file.h"
#include "pgdr/tsdb/tsdb.h"

namespace pgdr::rules {

// Instant query at t_ms; scalars come back as one sample without labels.
using QueryFunc = std::function<core::Result<promql::Vector>(const promql::Expr&, int64_t t_ms)>;
// Where rule output goes (the TSDB).
using AppendFunc = std::function<void(const tsdb::Labels&, int64_t t_ms, double v)>;

inline constexpr int64_t kResolvedRetentionMs = int64_t{15} * 60 * 1000;

enum class AlertState { kInactive, kPending, kFiring };
const char* AlertStateName(AlertState s);  // "inactive", "pending", "firing"

struct Alert {
  tsdb::Labels labels;  // includes alertname
  std::map<std::string, std::string> annotations;
  AlertState state = AlertState::kPending;
  double value = 0;
  int64_t active_at_ms = 0;
  int64_t fired_at_ms = 0;
  int64_t resolved_at_ms = 0;  // 0 while active
  int64_t keep_firing_since_ms = 0;
};

struct EvalContext {
  int64_t t_ms = 0;
  const QueryFunc* query = nullptr;
  std::map<std::string, std::string> external_labels;
  std::string external_url;
  // What alert templates' externalURL and pathPrefix see; promtool's unit
  // tests have none (nullopt), Prometheus its --web.external-url.
  std::optional<std::string> template_url;
  int limit = 0;
};

class Rule {
 public:
  virtual ~Rule() = default;
  virtual const std::string& name() const = 0;
  virtual bool is_alerting() const = 0;
  // The series to append at ctx.t_ms.
  virtual core::Result<promql::Vector> Eval(const EvalContext& ctx) = 0;

  const RuleSpec& spec() const { return spec_; }
  const std::string& last_error() const { return last_error_; }
  int64_t last_eval_ms() const { return last_eval_ms_; }
  double last_duration_seconds() const { return last_duration_seconds_; }
  bool evaluated() const { return evaluated_; }
  void SetResult(const core::Status& status, int64_t t_ms, double seconds) {
    last_error_ = status.ok() ? "" : status.message();
    last_eval_ms_ = t_ms;
    last_duration_seconds_ = seconds;
    evaluated_ = true;
  }

 protected:
  explicit Rule(RuleSpec spec) : spec_(std::move(spec)) {}
  RuleSpec spec_;

 private:
  std::string last_error_;
  int64_t last_eval_ms_ = 0;
  double last_duration_seconds_ = 0;
  bool evaluated_ = false;
};

class RecordingRule final : public Rule {
 public:
  explicit RecordingRule(RuleSpec spec) : Rule(std::move(spec)) {}
  const std::string& name() const override { return spec_.record; }
  bool is_alerting() const override { return false; }
  core::Result<promql::Vector> Eval(const EvalContext& ctx) override;
};

class AlertingRule final : public Rule {
 public:
  explicit AlertingRule(RuleSpec spec) : Rule(std::move(spec)) {}
  const std::string& name() const override { return spec_.alert; }
  bool is_alerting() const override { return true; }
  core::Result<promql::Vector> Eval(const EvalContext& ctx) override;

  // Alerts not yet dropped: pending, firing, and resolved within 15m.
  std::vector<Alert> ActiveAlerts() const;
  // Takes over the state of `old` (same rule across a reload).
  void RestoreFrom(const AlertingRule& old) { active_ = old.active_; }
  // After a restart (Prometheus's ALERTS_FOR_STATE): ActiveAt by
  // LabelsKey(labels), read back from the state file. An alert that becomes
  // active again in an evaluation before `offer_until_ms` gets its old
  // ActiveAt, so one that was firing fires again at once instead of waiting
  // `for` from zero. The offer lasts a while, not one evaluation, because
  // the in-memory TSDB is empty at start: the first evaluations may see no
  // data yet. Entries not claimed by then are forgotten.
  void RestoreForState(std::unordered_map<std::string, int64_t> active_at, int64_t offer_until_ms) {
    restored_active_at_ = std::move(active_at);
    restore_offer_until_ms_ = offer_until_ms;
  }

 private:
  std::unordered_map<std::string, Alert> active_;                // by LabelsKey(labels)
  std::unordered_map<std::string, int64_t> restored_active_at_;  // see RestoreForState
  int64_t restore_offer_until_ms_ = 0;
};

class Group {
 public:
  Group(GroupSpec spec, int64_t default_interval_ms);

  const std::string& name() const { return spec_.name; }
  const std::string& file() const { return spec_.file; }
  int64_t interval_ms() const { return interval_ms_; }
  int limit() const { return spec_.limit; }
  const std::vector<std::unique_ptr<Rule>>& rules() const PGDR_REQUIRES(mu_) { return rules_; }
  // A key unique across files: file + ";" + name.
  std::string Key() const { return spec_.file + ";" + spec_.name; }

  // Evaluates every rule at ctx.t_ms and appends the output. Returns the
  // number of rules that failed.
  int Eval(EvalContext ctx, const AppendFunc& append) PGDR_EXCLUDES(mu_);

  // Keeps the alert state of rules with the same name and query in `old`.
  // REQUIRES: this group is not yet visible to other threads (it locks its
  // own mutex, then old's).
  void RestoreFrom(const Group& old) PGDR_EXCLUDES(mu_, old.mu_);

  int64_t last_eval_ms() const PGDR_REQUIRES(mu_) { return last_eval_ms_; }
  double last_duration_seconds() const PGDR_REQUIRES(mu_) { return last_duration_seconds_; }
  uint64_t failures_total() const PGDR_REQUIRES(mu_) { return failures_total_; }
  core::Mutex& mutex() const PGDR_RETURN_CAPABILITY(mu_) { return mu_; }

 private:
  const GroupSpec spec_;
  const int64_t interval_ms_;
  mutable core::Mutex mu_;  // held by Eval and by readers
  std::vector<std::unique_ptr<Rule>> rules_ PGDR_GUARDED_BY(mu_);
  // Series each rule returned last time, for staleness markers.
  std::vector<std::unordered_map<std::string, tsdb::Labels>> previous_ PGDR_GUARDED_BY(mu_);
  int64_t last_eval_ms_ PGDR_GUARDED_BY(mu_) = 0;
  double last_duration_seconds_ PGDR_GUARDED_BY(mu_) = 0;
  uint64_t failures_total_ PGDR_GUARDED_BY(mu_) = 0;
};

}  // namespace pgdr::rules

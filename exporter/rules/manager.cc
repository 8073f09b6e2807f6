// The rule manager: load/reload, scheduling, API bodies, metrics.
#include "pgdr/rules/manager.h"

#include <algorithm>
#include <set>

#include "pgdr/core/mutex.h"
#include "pgdr/core/time_format.h"
#include "pgdr/promql/ast.h"
#include "pgdr/promql/parser.h"
#include "pgdr/rules/rule_file.h"

namespace pgdr::rules {
namespace {

// Go's time.RFC3339Nano in UTC: "2026-11-23T20:00:00.5Z".
// Time 0 (never) is Go's zero time, as Prometheus writes it.
std::string Rfc3339(int64_t ms) {
  return ms == 0 ? "0001-01-01T00:00:00Z" : core::FormatRfc3339(ms, core::Fraction::kShortest);
}

nlohmann::json LabelsJson(const tsdb::Labels& labels) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& l : labels) out[l.name] = l.value;
  return out;
}

nlohmann::json MapJson(const std::map<std::string, std::string>& m) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : m) out[k] = v;
  return out;
}

nlohmann::json AlertJson(const Alert& a) {
  nlohmann::json j = {
      {"labels", LabelsJson(a.labels)},
      {"annotations", MapJson(a.annotations)},
      {"state", AlertStateName(a.state)},
      {"activeAt", Rfc3339(a.active_at_ms)},
      {"value", promql::FormatFloatExponent(a.value, 'e')},
  };
  if (a.keep_firing_since_ms != 0) j["keepFiringSince"] = Rfc3339(a.keep_firing_since_ms);
  return j;
}

std::vector<Alert> Unresolved(const AlertingRule& rule) {
  std::vector<Alert> out;
  for (Alert& a : rule.ActiveAlerts()) {
    if (a.resolved_at_ms == 0) out.push_back(std::move(a));
  }
  return out;
}

std::string Health(const Rule& r) {
  if (!r.evaluated()) return "unknown";
  return r.last_error().empty() ? "ok" : "err";
}

}  // namespace

// The manager's state; every RuleManager method reads it through impl_.
struct RuleManager::Impl {
  Impl(tsdb::Tsdb* storage, ManagerOptions opts)
      : db(storage),
        options(std::move(opts)),
        engine([&] {
          promql::EngineOptions e = options.engine;
          e.default_subquery_step_ms = options.default_interval_ms;
          return e;
        }()),
        query([this](const promql::Expr& expr, int64_t t) -> core::Result<promql::Vector> {
          auto v = engine.Eval(*db, expr, t);
          if (!v.ok()) return v.status();
          if (auto* vec = std::get_if<promql::Vector>(&*v)) return std::move(*vec);
          if (auto* s = std::get_if<promql::Scalar>(&*v)) {
            return promql::Vector{promql::Sample{{}, s->value}};
          }
          return core::Status::InvalidArgument("rule result is not a vector or scalar");
        }) {}

  std::vector<std::shared_ptr<Group>> Snapshot() const PGDR_EXCLUDES(mu) {
    const core::MutexLock lock(mu);
    return groups;
  }

  tsdb::Tsdb* const db;  // not owned
  const ManagerOptions options;
  const promql::Engine engine;
  const QueryFunc query;

  // Lock order: tick_mu, then mu, then a group's mutex.
  core::Mutex tick_mu;  // serialises Tick
  int64_t last_compact_ms PGDR_GUARDED_BY(tick_mu) = 0;
  mutable core::Mutex mu;
  std::vector<std::shared_ptr<Group>> groups PGDR_GUARDED_BY(mu);
};

RuleManager::RuleManager(tsdb::Tsdb* tsdb, ManagerOptions options)
    : impl_(std::make_unique<Impl>(tsdb, std::move(options))) {}

RuleManager::~RuleManager() = default;

core::Status RuleManager::Load(const std::vector<std::string>& files) {
  std::vector<GroupSpec> groups;
  std::string errors;
  for (const std::string& file : files) {
    auto specs = LoadRuleFile(file);
    if (!specs.ok()) {
      errors += (errors.empty() ? "" : "\n") + specs.status().message();
      continue;
    }
    for (GroupSpec& g : *specs) groups.push_back(std::move(g));
  }
  if (!errors.empty()) return core::Status::InvalidArgument(errors);
  Replace(std::move(groups));
  return core::Status::OK();
}

void RuleManager::Replace(std::vector<GroupSpec> groups) {
  std::vector<std::shared_ptr<Group>> fresh;
  fresh.reserve(groups.size());
  for (GroupSpec& g : groups) {
    fresh.push_back(std::make_shared<Group>(std::move(g), impl_->options.default_interval_ms));
  }
  const core::MutexLock lock(impl_->mu);
  for (auto& g : fresh) {
    for (const auto& old : impl_->groups) {
      if (old->Key() == g->Key()) {
        g->RestoreFrom(*old);
        break;
      }
    }
  }
  impl_->groups = std::move(fresh);
}

std::optional<std::set<std::string>> RuleManager::SelectedMetricNames() const {
  std::set<std::string> names;
  for (const auto& g : impl_->Snapshot()) {
    const core::MutexLock lock(g->mutex());
    for (const auto& r : g->rules()) {
      auto used = promql::SelectedMetricNames(*r->spec().expr);
      if (!used) return std::nullopt;
      names.merge(*used);
    }
  }
  return names;
}

size_t RuleManager::group_count() const { return impl_->Snapshot().size(); }

int RuleManager::Tick(int64_t now_ms) {
  const core::MutexLock tick(impl_->tick_mu);
  int evaluated = 0;
  AppendFunc append = [this](const tsdb::Labels& l, int64_t t, double v) {
    impl_->db->Append(l, t, v);
  };
  for (const auto& g : impl_->Snapshot()) {
    const int64_t interval = std::max<int64_t>(g->interval_ms(), 1);
    const int64_t due = now_ms - ((now_ms % interval) + interval) % interval;
    int64_t last = 0;
    {
      const core::MutexLock lock(g->mutex());
      last = g->last_eval_ms();
    }
    if (last != 0 && due <= last) continue;
    EvalContext ctx;
    ctx.t_ms = due;
    ctx.query = &impl_->query;
    ctx.external_labels = impl_->options.external_labels;
    ctx.external_url = impl_->options.external_url;
    ctx.template_url = impl_->options.external_url;
    g->Eval(ctx, append);
    ++evaluated;
  }
  if (now_ms - impl_->last_compact_ms >= 60'000) {
    impl_->db->Compact(now_ms);
    impl_->last_compact_ms = now_ms;
  }
  return evaluated;
}

nlohmann::json RuleManager::RulesJson(std::string_view type) const {
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& g : impl_->Snapshot()) {
    const core::MutexLock lock(g->mutex());
    nlohmann::json rules = nlohmann::json::array();
    for (const auto& r : g->rules()) {
      if ((type == "alert" && !r->is_alerting()) || (type == "record" && r->is_alerting())) {
        continue;
      }
      const RuleSpec& spec = r->spec();
      nlohmann::json j;
      if (r->is_alerting()) {
        std::vector<Alert> alerts = Unresolved(static_cast<const AlertingRule&>(*r));
        AlertState state = AlertState::kInactive;
        nlohmann::json alerts_json = nlohmann::json::array();
        for (const Alert& a : alerts) {
          if (a.state == AlertState::kFiring ||
              (a.state == AlertState::kPending && state == AlertState::kInactive)) {
            state = a.state;
          }
          alerts_json.push_back(AlertJson(a));
        }
        j = {{"state", AlertStateName(state)},
             {"name", spec.alert},
             {"query", promql::ToString(*spec.expr)},
             {"duration", static_cast<double>(spec.for_ms) / 1000},
             {"keepFiringFor", static_cast<double>(spec.keep_firing_for_ms) / 1000},
             {"labels", MapJson(spec.labels)},
             {"annotations", MapJson(spec.annotations)},
             {"alerts", alerts_json},
             {"health", Health(*r)}};
      } else {
        j = {
            {"name", spec.record}, {"query", promql::ToString(*spec.expr)}, {"health", Health(*r)}};
        if (!spec.labels.empty()) j["labels"] = MapJson(spec.labels);
      }
      if (!r->last_error().empty()) j["lastError"] = r->last_error();
      j["evaluationTime"] = r->last_duration_seconds();
      j["lastEvaluation"] = Rfc3339(r->evaluated() ? r->last_eval_ms() : 0);
      j["type"] = r->is_alerting() ? "alerting" : "recording";
      rules.push_back(std::move(j));
    }
    groups.push_back({{"name", g->name()},
                      {"file", g->file()},
                      {"rules", rules},
                      {"interval", static_cast<double>(g->interval_ms()) / 1000},
                      {"limit", g->limit()},
                      {"evaluationTime", g->last_duration_seconds()},
                      {"lastEvaluation", Rfc3339(g->last_eval_ms())}});
  }
  return {{"status", "success"}, {"data", {{"groups", groups}}}};
}

nlohmann::json RuleManager::AlertsJson() const {
  nlohmann::json alerts = nlohmann::json::array();
  for (const auto& g : impl_->Snapshot()) {
    const core::MutexLock lock(g->mutex());
    for (const auto& r : g->rules()) {
      if (!r->is_alerting()) continue;
      for (const Alert& a : Unresolved(static_cast<const AlertingRule&>(*r))) {
        alerts.push_back(AlertJson(a));
      }
    }
  }
  return {{"status", "success"}, {"data", {{"alerts", alerts}}}};
}

std::vector<ManagedAlert> RuleManager::Alerts() const {
  std::vector<ManagedAlert> out;
  for (const auto& g : impl_->Snapshot()) {
    const core::MutexLock lock(g->mutex());
    for (const auto& r : g->rules()) {
      if (!r->is_alerting()) continue;
      for (Alert& a : static_cast<const AlertingRule&>(*r).ActiveAlerts()) {
        out.push_back(
            ManagedAlert{g->name(), r->name(), std::move(a), g->last_eval_ms(), g->interval_ms()});
      }
    }
  }
  return out;
}

void RuleManager::RestoreForState(const std::vector<RestoredAlert>& alerts, int64_t now_ms) {
  for (const auto& g : impl_->Snapshot()) {
    const core::MutexLock lock(g->mutex());
    for (const auto& r : g->rules()) {
      if (!r->is_alerting()) continue;
      std::unordered_map<std::string, int64_t> active_at;
      for (const auto& a : alerts) {
        if (a.group == g->name() && a.rule == r->name()) {
          active_at[tsdb::LabelsKey(a.labels)] = a.active_at_ms;
        }
      }
      if (active_at.empty()) continue;
      const int64_t offer_until = now_ms + std::max<int64_t>(3 * g->interval_ms(), 60'000);
      static_cast<AlertingRule&>(*r).RestoreForState(std::move(active_at), offer_until);
    }
  }
}

void RuleManager::CollectMetrics(core::MetricSet& out) const {
  std::map<std::pair<std::string, std::string>, int> alerts;
  std::set<std::string> seen_names;
  for (const auto& g : impl_->Snapshot()) {
    const core::MutexLock lock(g->mutex());
    // Group names are unique per file; across files the file disambiguates.
    std::string group = seen_names.insert(g->name()).second ? g->name() : g->Key();
    out.Gauge("pgdr_rule_group_last_duration_seconds",
              "Duration of the last evaluation of the rule group.", {{"group", group}},
              g->last_duration_seconds());
    out.Counter("pgdr_rule_evaluation_failures_total", "Rule evaluations that failed.",
                {{"group", group}}, static_cast<double>(g->failures_total()));
    out.Gauge("pgdr_rule_group_last_evaluation_timestamp_seconds",
              "When the rule group was last evaluated.", {{"group", group}},
              static_cast<double>(g->last_eval_ms()) / 1000);
    out.Gauge("pgdr_rule_group_rules", "Rules in the rule group.", {{"group", group}},
              static_cast<double>(g->rules().size()));
    for (const auto& r : g->rules()) {
      if (!r->is_alerting()) continue;
      alerts[{r->name(), "pending"}] += 0;
      alerts[{r->name(), "firing"}] += 0;
      for (const Alert& a : static_cast<const AlertingRule&>(*r).ActiveAlerts()) {
        if (a.state != AlertState::kInactive) ++alerts[{r->name(), AlertStateName(a.state)}];
      }
    }
  }
  for (const auto& [key, n] : alerts) {
    out.Gauge("pgdr_alerts", "Active alerts by name and state.",
              {{"alertname", key.first}, {"state", key.second}}, n);
  }
  const tsdb::Stats stats = impl_->db->GetStats();
  out.Gauge("pgdr_tsdb_series", "Series in the local TSDB.", {}, static_cast<double>(stats.series));
  out.Gauge("pgdr_tsdb_samples", "Samples in the local TSDB.", {},
            static_cast<double>(stats.samples));
  out.Gauge("pgdr_tsdb_bytes", "Heap held by the local TSDB: series, labels, chunks, indexes.", {},
            static_cast<double>(stats.bytes));
  out.Gauge("pgdr_tsdb_bytes_per_sample", "pgdr_tsdb_bytes / pgdr_tsdb_samples (0 when empty).", {},
            stats.samples == 0
                ? 0.0
                : static_cast<double>(stats.bytes) / static_cast<double>(stats.samples));
  out.Counter("pgdr_tsdb_dropped_series_total",
              "New series not stored because the TSDB held its maximum number of series.", {},
              static_cast<double>(stats.dropped_series));
}

}  // namespace pgdr::rules

// Recording rules, the alerting state machine, and group evaluation.
#include "pgdr/rules/rule.h"

#include <algorithm>
#include <chrono>
#include <unordered_set>

#include "pgdr/promql/parser.h"
#include "rules/template.h"

namespace pgdr::rules {
namespace {

std::map<std::string, std::string> ToMap(const tsdb::Labels& labels) {
  std::map<std::string, std::string> out;
  for (const auto& l : labels) out[l.name] = l.value;
  return out;
}

}  // namespace

const char* AlertStateName(AlertState s) {
  switch (s) {
    case AlertState::kInactive:
      return "inactive";
    case AlertState::kPending:
      return "pending";
    case AlertState::kFiring:
      return "firing";
  }
  return "inactive";
}

core::Result<promql::Vector> RecordingRule::Eval(const EvalContext& ctx) {
  auto result = (*ctx.query)(*spec_.expr, ctx.t_ms);
  if (!result.ok()) return result.status();
  promql::Vector v = std::move(*result);
  std::unordered_set<std::string> seen;
  for (promql::Sample& s : v) {
    tsdb::SetLabel(s.metric, tsdb::kMetricName, spec_.record);
    for (const auto& [k, val] : spec_.labels) tsdb::SetLabel(s.metric, k, val);
    if (!seen.insert(tsdb::LabelsKey(s.metric)).second) {
      return core::Status::InvalidArgument(
          "vector contains metrics with the same labelset after applying rule labels");
    }
  }
  if (ctx.limit > 0 && static_cast<int>(v.size()) > ctx.limit) {
    return core::Status::InvalidArgument("exceeded limit of " + std::to_string(ctx.limit) +
                                         " with " + std::to_string(v.size()) + " series");
  }
  return v;
}

core::Result<promql::Vector> AlertingRule::Eval(const EvalContext& ctx) {
  auto result = (*ctx.query)(*spec_.expr, ctx.t_ms);
  if (!result.ok()) return result.status();
  const int64_t ts = ctx.t_ms;

  std::unordered_map<std::string, Alert> fresh;
  for (const promql::Sample& s : *result) {
    TemplateData data;
    data.labels = ToMap(s.metric);
    data.external_labels = ctx.external_labels;
    data.external_url = ctx.external_url;
    data.value = s.value;
    data.url_object = ctx.template_url;
    data.query = [&ctx](std::string_view q) -> core::Result<std::vector<TemplateSample>> {
      auto expr = promql::ParseExpr(q);
      if (!expr.ok()) return expr.status();
      auto v = (*ctx.query)(**expr, ctx.t_ms);
      if (!v.ok()) return v.status();
      std::vector<TemplateSample> out;
      out.reserve(v->size());
      for (const promql::Sample& r : *v) out.push_back({ToMap(r.metric), r.value});
      return out;
    };
    const std::string tmpl_name = "__alert_" + spec_.alert;
    tsdb::Labels labels = s.metric;
    tsdb::SetLabel(labels, tsdb::kMetricName, "");
    for (const auto& [k, v] : spec_.labels) {
      tsdb::SetLabel(labels, k, ExpandAlertTemplate(tmpl_name, v, data));
    }
    tsdb::SetLabel(labels, "alertname", spec_.alert);
    Alert a;
    for (const auto& [k, v] : spec_.annotations) {
      a.annotations[k] = ExpandAlertTemplate(tmpl_name, v, data);
    }
    a.labels = std::move(labels);
    a.active_at_ms = ts;
    a.state = AlertState::kPending;
    a.value = s.value;
    std::string key = tsdb::LabelsKey(a.labels);
    if (fresh.contains(key)) {
      return core::Status::InvalidArgument(
          "vector contains metrics with the same labelset after applying alert labels");
    }
    fresh.emplace(std::move(key), std::move(a));
  }

  for (auto& [key, a] : fresh) {
    auto it = active_.find(key);
    if (it != active_.end() && it->second.state != AlertState::kInactive) {
      it->second.value = a.value;
      it->second.annotations = a.annotations;
      continue;
    }
    if (const auto restored = restored_active_at_.find(key);
        restored != restored_active_at_.end()) {
      a.active_at_ms = std::min(a.active_at_ms, restored->second);
      restored_active_at_.erase(restored);
    }
    active_[key] = std::move(a);
  }
  if (ts >= restore_offer_until_ms_) restored_active_at_.clear();

  promql::Vector out;
  int active_pending = 0;
  for (auto it = active_.begin(); it != active_.end();) {
    Alert& a = it->second;
    bool keep_firing = false;
    if (!fresh.contains(it->first)) {
      if (a.state == AlertState::kFiring && spec_.keep_firing_for_ms > 0) {
        if (a.keep_firing_since_ms == 0) a.keep_firing_since_ms = ts;
        if (ts - a.keep_firing_since_ms < spec_.keep_firing_for_ms) keep_firing = true;
      }
      if (a.state == AlertState::kPending ||
          (a.resolved_at_ms != 0 && ts - a.resolved_at_ms > kResolvedRetentionMs)) {
        it = active_.erase(it);
        continue;
      }
      if (a.state != AlertState::kInactive && !keep_firing) {
        a.state = AlertState::kInactive;
        a.resolved_at_ms = ts;
      }
      if (!keep_firing) {
        ++it;
        continue;
      }
    } else {
      a.keep_firing_since_ms = 0;
    }
    ++active_pending;
    if (a.state == AlertState::kPending && ts - a.active_at_ms >= spec_.for_ms) {
      a.state = AlertState::kFiring;
      a.fired_at_ms = ts;
    }
    tsdb::Labels alerts = a.labels;
    tsdb::SetLabel(alerts, tsdb::kMetricName, "ALERTS");
    tsdb::SetLabel(alerts, "alertstate", AlertStateName(a.state));
    out.push_back(promql::Sample{std::move(alerts), 1});
    tsdb::Labels for_state = a.labels;
    tsdb::SetLabel(for_state, tsdb::kMetricName, "ALERTS_FOR_STATE");
    // Whole seconds, as Prometheus's float64(ActiveAt.Unix()).
    // NOLINTNEXTLINE(bugprone-integer-division)
    out.push_back(promql::Sample{std::move(for_state), static_cast<double>(a.active_at_ms / 1000)});
    ++it;
  }
  if (ctx.limit > 0 && active_pending > ctx.limit) {
    active_.clear();
    return core::Status::InvalidArgument("exceeded limit of " + std::to_string(ctx.limit) +
                                         " with " + std::to_string(active_pending) + " alerts");
  }
  return out;
}

std::vector<Alert> AlertingRule::ActiveAlerts() const {
  std::vector<Alert> out;
  out.reserve(active_.size());
  for (const auto& [key, a] : active_) out.push_back(a);
  std::sort(out.begin(), out.end(),
            [](const Alert& x, const Alert& y) { return x.labels < y.labels; });
  return out;
}

Group::Group(GroupSpec spec, int64_t default_interval_ms)
    : spec_(std::move(spec)),
      interval_ms_(spec_.interval_ms != 0 ? spec_.interval_ms : default_interval_ms) {
  for (const RuleSpec& r : spec_.rules) {
    if (r.alert.empty()) {
      rules_.push_back(std::make_unique<RecordingRule>(r));
    } else {
      rules_.push_back(std::make_unique<AlertingRule>(r));
    }
  }
  previous_.resize(rules_.size());
}

void Group::RestoreFrom(const Group& old) {
  const core::MutexLock lock(mu_);
  const core::MutexLock old_lock(old.mu_);
  failures_total_ = old.failures_total_;  // a counter survives reloads
  for (auto& rule : rules_) {
    if (!rule->is_alerting()) continue;
    for (const auto& o : old.rules_) {
      if (o->is_alerting() && o->name() == rule->name() &&
          o->spec().expr_text == rule->spec().expr_text) {
        static_cast<AlertingRule&>(*rule).RestoreFrom(static_cast<const AlertingRule&>(*o));
        break;
      }
    }
  }
}

int Group::Eval(EvalContext ctx, const AppendFunc& append) {
  const core::MutexLock lock(mu_);
  ctx.limit = spec_.limit;
  const auto group_start = std::chrono::steady_clock::now();
  int failures = 0;
  for (size_t i = 0; i < rules_.size(); ++i) {
    Rule& rule = *rules_[i];
    const auto start = std::chrono::steady_clock::now();
    auto result = rule.Eval(ctx);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rule.SetResult(result.status(), ctx.t_ms, seconds);
    if (!result.ok()) {
      ++failures;
      ++failures_total_;
      continue;
    }
    std::unordered_map<std::string, tsdb::Labels> returned;
    for (const promql::Sample& s : *result) {
      append(s.metric, ctx.t_ms, s.value);
      returned.emplace(tsdb::LabelsKey(s.metric), s.metric);
    }
    for (const auto& [key, labels] : previous_[i]) {
      if (!returned.contains(key)) append(labels, ctx.t_ms, tsdb::StaleNaN());
    }
    previous_[i] = std::move(returned);
  }
  last_eval_ms_ = ctx.t_ms;
  last_duration_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - group_start).count();
  return failures;
}

}  // namespace pgdr::rules

// `promtool test rules` over the built-in evaluator.
#include "pgdr/rules/test_runner.h"

#include <glob.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "pgdr/config/yaml_reader.h"
#include "pgdr/core/files.h"
#include "pgdr/core/strings.h"
#include "pgdr/promql/engine.h"
#include "pgdr/promql/parser.h"
#include "pgdr/rules/rule.h"
#include "pgdr/rules/rule_file.h"
#include "pgdr/tsdb/tsdb.h"
#include "rules/go_yaml.h"

namespace pgdr::rules {
namespace {

constexpr int64_t kMinute = 60'000;

struct Failure {
  std::string message;
};

std::string GoLabels(const tsdb::Labels& labels) { return tsdb::LabelsToGoString(labels); }

// Go's time.Duration.String() for whole milliseconds: "0s", "5m0s", "1.5s".
std::string GoDuration(int64_t ms) {
  if (ms == 0) return "0s";
  std::string sign = ms < 0 ? "-" : "";
  if (ms < 0) ms = -ms;
  if (ms < 1000) return sign + std::to_string(ms) + "ms";
  int64_t h = ms / 3'600'000;
  int64_t m = (ms / 60'000) % 60;
  int64_t s = (ms / 1000) % 60;
  int64_t frac = ms % 1000;
  std::string sec = std::to_string(s);
  if (frac != 0) {
    char f[8];
    std::snprintf(f, sizeof(f), ".%03lld", static_cast<long long>(frac));
    std::string fs = f;
    while (fs.back() == '0') fs.pop_back();
    sec += fs;
  }
  std::string out = sign;
  if (h > 0) out += std::to_string(h) + "h";
  if (h > 0 || m > 0) out += std::to_string(m) + "m";
  return out + sec + "s";
}

std::string Indent(const std::string& lines, const std::string& indent) {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    out += lines[i];
    if (lines[i] == '\n') out += indent;
  }
  return out;
}

struct LabelsAndAnnotations {
  tsdb::Labels labels;
  tsdb::Labels annotations;
  bool operator<(const LabelsAndAnnotations& o) const { return labels < o.labels; }
  bool operator==(const LabelsAndAnnotations& o) const = default;
};

std::string AlertsString(const std::vector<LabelsAndAnnotations>& la) {
  if (la.empty()) return "[]";
  std::string s = "[";
  for (size_t i = 0; i < la.size(); ++i) {
    if (i > 0) s += ",";
    s += '\n';
    s += std::to_string(i);
    s += ':';
    s += Indent(
        "\nLabels:" + GoLabels(la[i].labels) + "\nAnnotations:" + GoLabels(la[i].annotations),
        "  ");
  }
  return s + "\n]";
}

tsdb::Labels FromMap(const std::map<std::string, std::string>& m) {
  std::vector<tsdb::Label> out;
  out.reserve(m.size());
  for (const auto& [k, v] : m) out.push_back({k, v});
  return tsdb::MakeLabels(std::move(out));
}

// Annotations keep empty values (an alert label set to "" is removed, an
// annotation is not: promtool prints r="").
tsdb::Labels AnnotationsFromMap(const std::map<std::string, std::string>& m) {
  tsdb::Labels out;
  out.reserve(m.size());
  for (const auto& [k, v] : m) out.push_back({k, v});
  return out;
}

// model.Duration's UnmarshalYAML error ends decoding, printed bare.
int64_t DurationOf(const YAML::Node& n) {
  if (!n || n.IsNull()) return 0;
  auto d = config::ParseDuration(n.Scalar());
  if (!d.ok()) throw Failure{d.status().message()};
  return d->count();
}

std::map<std::string, std::string> StringMap(const YAML::Node& n) {
  std::map<std::string, std::string> out;
  if (!n || n.IsNull()) return out;
  if (!n.IsMap()) {
    throw Failure{"yaml: unmarshal errors:\n  " + goyaml::TypeError(n, "map[string]string")};
  }
  for (const auto& kv : n) out[kv.first.Scalar()] = kv.second.IsScalar() ? kv.second.Scalar() : "";
  return out;
}

struct SeriesInput {
  tsdb::Labels labels;
  std::vector<std::optional<double>> values;
  size_t next = 0;
};

class TestGroup {
 public:
  TestGroup(const YAML::Node& node, int64_t eval_interval,
            const std::vector<std::string>& rule_files,
            const std::map<std::string, int>& group_order)
      : node_(node),
        eval_interval_(eval_interval),
        rule_files_(rule_files),
        group_order_(group_order) {}

  std::vector<std::string> Run(int64_t default_interval) {
    interval_ = node_["interval"] ? DurationOf(node_["interval"]) : 0;
    name_ = node_["name"] ? node_["name"].Scalar() : "";
    external_labels_ = StringMap(node_["external_labels"]);
    external_url_ = node_["external_url"] ? node_["external_url"].Scalar() : "";

    std::vector<SeriesInput> inputs;
    for (const YAML::Node& s : Seq(node_["input_series"])) {
      std::string series = s["series"] ? s["series"].Scalar() : "";
      std::string values = s["values"] ? s["values"].Scalar() : "";
      auto desc = promql::ParseSeriesDescription(series + " " + values);
      if (!desc.ok()) return {desc.status().message()};
      inputs.push_back(SeriesInput{std::move(desc->labels), std::move(desc->values)});
      if (interval_ == 0) {
        // promtool 2.42 does not default a group's interval: it loads the
        // series with "load 0s", every sample at time 0, and its TSDB keeps
        // the first of them.
        std::vector<std::optional<double>>& v = inputs.back().values;
        auto first = std::find_if(v.begin(), v.end(), [](const auto& x) { return x.has_value(); });
        v = first == v.end() ? std::vector<std::optional<double>>{}
                             : std::vector<std::optional<double>>{*first};
      }
    }

    std::vector<std::unique_ptr<Group>> groups;
    std::vector<std::string> errors;
    for (const std::string& file : rule_files_) {
      auto specs = LoadRuleFile(file);
      if (!specs.ok()) {
        errors.push_back(specs.status().message());
        continue;
      }
      for (GroupSpec& g : *specs)
        groups.push_back(
            std::make_unique<Group>(std::move(g), interval_ != 0 ? interval_ : default_interval));
    }
    if (!errors.empty()) return errors;
    std::stable_sort(groups.begin(), groups.end(), [&](const auto& a, const auto& b) {
      return Order(a->name()) < Order(b->name());
    });

    // Alert tests by eval time.
    std::map<int64_t, std::vector<YAML::Node>> alert_tests;
    int64_t max_t = 0;
    for (const YAML::Node& a : Seq(node_["alert_rule_test"])) {
      int64_t t = DurationOf(a["eval_time"]);
      std::string alertname = a["alertname"] ? a["alertname"].Scalar() : "";
      if (alertname.empty()) {
        std::string in_group = name_.empty() ? "" : " (in TestGroup " + name_ + ")";
        return {"an item under alert_rule_test misses required attribute alertname at eval_time " +
                promql::FormatDurationMs(t) + in_group};
      }
      alert_tests[t].push_back(a);
      max_t = std::max(max_t, t);
    }
    for (const YAML::Node& p : Seq(node_["promql_expr_test"])) {
      max_t = std::max(max_t, DurationOf(p["eval_time"]));
    }

    promql::EngineOptions opts;
    opts.default_subquery_step_ms = eval_interval_;
    promql::Engine engine(opts);
    tsdb::Options storage_opts;
    storage_opts.retention = std::chrono::hours(24 * 365 * 1000);
    storage_opts.max_samples_per_series = 100'000'000;
    tsdb::Tsdb storage(storage_opts);
    QueryFunc query = [&](const promql::Expr& expr, int64_t t) -> core::Result<promql::Vector> {
      return Query(engine, storage, expr, t);
    };
    AppendFunc append = [&](const tsdb::Labels& l, int64_t t, double v) {
      storage.Append(l, t, v);
    };

    auto alert_it = alert_tests.begin();
    for (int64_t ts = 0; ts <= max_t; ts += eval_interval_) {
      for (SeriesInput& in : inputs) {
        while (in.next < in.values.size() && static_cast<int64_t>(in.next) * interval_ <= ts) {
          if (in.values[in.next]) {
            storage.Append(in.labels, static_cast<int64_t>(in.next) * interval_,
                           *in.values[in.next]);
          }
          ++in.next;
        }
      }
      std::vector<std::string> eval_errors;
      for (auto& g : groups) {
        EvalContext ctx;
        ctx.t_ms = ts;
        ctx.query = &query;
        ctx.external_labels = external_labels_;
        ctx.external_url = external_url_;
        g->Eval(ctx, append);
        const core::MutexLock lock(g->mutex());
        for (const auto& r : g->rules()) {
          if (!r->last_error().empty()) {
            eval_errors.push_back("    rule: " + r->name() + ", time: " + GoDuration(ts) +
                                  ", err: " + r->last_error());
          }
        }
      }
      if (!eval_errors.empty()) {
        errors.insert(errors.end(), eval_errors.begin(), eval_errors.end());
        return errors;
      }
      while (alert_it != alert_tests.end() && ts <= alert_it->first &&
             alert_it->first < ts + eval_interval_) {
        for (const YAML::Node& test : alert_it->second) {
          CheckAlerts(test, alert_it->first, groups, errors);
        }
        ++alert_it;
      }
    }

    for (const YAML::Node& p : Seq(node_["promql_expr_test"])) {
      CheckExpr(p, engine, storage, errors);
    }
    return errors;
  }

 private:
  static std::vector<YAML::Node> Seq(const YAML::Node& n) {
    std::vector<YAML::Node> out;
    if (n && n.IsSequence()) {
      for (const auto& x : n) out.push_back(x);
    }
    return out;
  }

  int Order(const std::string& group) const {
    auto it = group_order_.find(group);
    return it == group_order_.end() ? 0 : it->second;
  }

  static core::Result<promql::Vector> Query(const promql::Engine& engine,
                                            const tsdb::Storage& storage, const promql::Expr& expr,
                                            int64_t t) {
    auto v = engine.Eval(storage, expr, t);
    if (!v.ok()) return v.status();
    if (auto* vec = std::get_if<promql::Vector>(&*v)) return std::move(*vec);
    if (auto* s = std::get_if<promql::Scalar>(&*v)) {
      return promql::Vector{promql::Sample{{}, s->value}};
    }
    return core::Status::InvalidArgument("rule result is not a vector or scalar");
  }

  void CheckAlerts(const YAML::Node& test, int64_t t,
                   const std::vector<std::unique_ptr<Group>>& groups,
                   std::vector<std::string>& errors) {
    const std::string alertname = test["alertname"].Scalar();
    std::vector<LabelsAndAnnotations> got;
    for (const auto& g : groups) {
      const core::MutexLock lock(g->mutex());
      for (const auto& r : g->rules()) {
        if (!r->is_alerting() || r->name() != alertname) continue;
        for (const Alert& a : static_cast<const AlertingRule&>(*r).ActiveAlerts()) {
          if (a.state == AlertState::kFiring) {
            got.push_back({a.labels, AnnotationsFromMap(a.annotations)});
          }
        }
      }
    }
    std::vector<LabelsAndAnnotations> want;
    for (const YAML::Node& e : Seq(test["exp_alerts"])) {
      auto labels = StringMap(e["exp_labels"]);
      labels["alertname"] = alertname;
      want.push_back({FromMap(labels), AnnotationsFromMap(StringMap(e["exp_annotations"]))});
    }
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    if (got == want) return;
    std::string test_name = name_.empty() ? "" : "    name: " + name_ + ",\n";
    errors.push_back(test_name + "    alertname: " + alertname +
                     ", time: " + promql::FormatDurationMs(t) +
                     ", \n        exp:" + Indent(AlertsString(want), "            ") +
                     ", \n        got:" + Indent(AlertsString(got), "            "));
  }

  void CheckExpr(const YAML::Node& p, const promql::Engine& engine, const tsdb::Storage& storage,
                 std::vector<std::string>& errors) {
    const std::string expr_text = p["expr"] ? p["expr"].Scalar() : "";
    const int64_t t = DurationOf(p["eval_time"]);
    const std::string head =
        "    expr: " + core::Quoted(expr_text) + ", time: " + promql::FormatDurationMs(t);
    auto expr = promql::ParseExpr(expr_text);
    if (!expr.ok()) {
      errors.push_back(head + ", err: " + expr.status().message());
      return;
    }
    auto got = Query(engine, storage, **expr, t);
    if (!got.ok()) {
      errors.push_back(head + ", err: " + got.status().message());
      return;
    }
    std::vector<std::pair<tsdb::Labels, double>> want;
    for (const YAML::Node& s : Seq(p["exp_samples"])) {
      std::string labels_text = s["labels"] ? s["labels"].Scalar() : "";
      tsdb::Labels labels;
      if (!labels_text.empty()) {
        auto desc = promql::ParseSeriesDescription(labels_text);
        if (!desc.ok()) {
          errors.push_back(head + ", err: labels \"" + labels_text +
                           "\": " + desc.status().message());
          return;
        }
        labels = desc->labels;
      }
      double value = 0;
      if (s["value"]) {
        std::string v = s["value"].Scalar();
        char* end = nullptr;
        value = std::strtod(v.c_str(), &end);
      }
      want.push_back({std::move(labels), value});
    }
    std::vector<std::pair<tsdb::Labels, double>> have;
    for (const auto& s : *got) have.push_back({s.metric, s.value});
    auto by_labels = [](const auto& a, const auto& b) { return a.first < b.first; };
    std::sort(want.begin(), want.end(), by_labels);
    std::sort(have.begin(), have.end(), by_labels);
    bool equal = want.size() == have.size();
    for (size_t i = 0; equal && i < want.size(); ++i) {
      equal = want[i].first == have[i].first && want[i].second == have[i].second;
    }
    if (equal) return;
    auto str = [](const std::vector<std::pair<tsdb::Labels, double>>& v) {
      if (v.empty()) return std::string("nil");
      std::string out;
      for (size_t i = 0; i < v.size(); ++i) {
        if (i > 0) out += ", ";
        out += GoLabels(v[i].first) + " " + promql::FormatFloatExponent(v[i].second, 'E');
      }
      return out;
    };
    errors.push_back(head + ",\n        exp: " + str(want) + "\n        got: " + str(have));
  }

  YAML::Node node_;
  int64_t eval_interval_;
  const std::vector<std::string>& rule_files_;
  const std::map<std::string, int>& group_order_;
  int64_t interval_ = kMinute;
  std::string name_;
  std::map<std::string, std::string> external_labels_;
  std::string external_url_;
};

// yaml.v2's UnmarshalStrict (promtool's reader of test files) decodes the
// whole file before any test runs and refuses unknown fields ("field x not
// found in type main.series"), repeated fields ("field x already set in
// type main.series") and repeated map keys ("key \"x\" already set in
// map"). `type` names the struct `node` decodes into ("map" for a string
// map); the lines go to `out` in the file's order.
void StrictDecodeErrors(const YAML::Node& node, const std::string& type,
                        std::vector<std::string>* out) {
  // Struct -> field -> the type of its value (a struct, "map", or "" for
  // what holds no keys).
  static const std::map<std::string, std::map<std::string, std::string>> kStructs = {
      {"main.unitTestFile",
       {{"rule_files", ""},
        {"evaluation_interval", ""},
        {"group_eval_order", ""},
        {"tests", "main.testGroup"}}},
      {"main.testGroup",
       {{"interval", ""},
        {"input_series", "main.series"},
        {"alert_rule_test", "main.alertTestCase"},
        {"promql_expr_test", "main.promqlTestCase"},
        {"external_labels", "map"},
        {"external_url", ""},
        {"name", ""}}},
      {"main.series", {{"series", ""}, {"values", ""}}},
      {"main.alertTestCase", {{"eval_time", ""}, {"alertname", ""}, {"exp_alerts", "main.alert"}}},
      {"main.alert", {{"exp_labels", "map"}, {"exp_annotations", "map"}}},
      {"main.promqlTestCase", {{"expr", ""}, {"eval_time", ""}, {"exp_samples", "main.sample"}}},
      {"main.sample", {{"labels", ""}, {"value", ""}}},
  };
  if (!node.IsMap()) return;
  const auto fields = kStructs.find(type);
  std::set<std::string> seen;
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    const std::string line = "line " + std::to_string(kv.first.Mark().line + 1);
    if (fields == kStructs.end()) {  // a map
      if (!seen.insert(key).second) {
        out->push_back(line + ": key " + core::Quoted(key) + " already set in map");
      }
      continue;
    }
    const auto field = fields->second.find(key);
    if (field == fields->second.end()) {
      out->push_back(line + ": field " + key + " not found in type " + type);
      continue;
    }
    if (!seen.insert(key).second) {
      out->push_back(line + ": field " + key + " already set in type " + type);
      continue;
    }
    if (field->second.empty()) continue;
    if (kv.second.IsSequence()) {
      for (const YAML::Node& item : kv.second) StrictDecodeErrors(item, field->second, out);
    } else {
      StrictDecodeErrors(kv.second, field->second, out);
    }
  }
}

std::vector<std::string> RunFile(const std::string& file, std::ostream& out) {
  auto text = core::ReadFile(file);
  if (!text.ok()) return {text.status().message()};
  if (std::string bad = goyaml::Utf8Error(*text); !bad.empty()) return {"yaml: " + bad};
  auto loaded = config::LoadYamlString(*text, file);
  if (!loaded.ok()) return {loaded.status().message()};
  try {
    // Merge keys first: yaml.v2 merges before it looks at the fields.
    const YAML::Node r = goyaml::MergedDeep(*loaded);
    std::vector<std::string> decode_errors;
    StrictDecodeErrors(r, "main.unitTestFile", &decode_errors);
    if (!decode_errors.empty()) {
      return {"yaml: unmarshal errors:\n  " + core::Join(decode_errors, "\n  ")};
    }
    std::filesystem::path dir = std::filesystem::path(file).parent_path();
    std::vector<std::string> rule_files;
    if (r["rule_files"]) {
      for (const auto& f : r["rule_files"]) {
        std::string pattern = f.Scalar();
        std::filesystem::path p(pattern);
        if (p.is_relative() && !dir.empty()) p = dir / p;
        std::string joined = p.lexically_normal().string();
        glob_t g{};
        if (::glob(joined.c_str(), 0, nullptr, &g) == 0) {
          for (size_t i = 0; i < g.gl_pathc; ++i) rule_files.push_back(g.gl_pathv[i]);
        } else {
          // promtool goes on without the pattern.
          out << "  WARNING: no file match pattern " << pattern << "\n";
        }
        globfree(&g);
      }
    }
    int64_t eval_interval = r["evaluation_interval"] ? DurationOf(r["evaluation_interval"]) : 0;
    if (eval_interval == 0) eval_interval = kMinute;
    std::map<std::string, int> order;
    if (r["group_eval_order"]) {
      int i = 0;
      for (const auto& g : r["group_eval_order"]) {
        if (!order.emplace(g.Scalar(), i++).second) {
          return {"group name repeated in evaluation order: " + g.Scalar()};
        }
      }
    }
    std::vector<std::string> errors;
    if (r["tests"]) {
      for (const auto& t : r["tests"]) {
        TestGroup group(t, eval_interval, rule_files, order);
        auto errs = group.Run(eval_interval);
        errors.insert(errors.end(), errs.begin(), errs.end());
      }
    }
    return errors;
  } catch (const Failure& f) {
    return {f.message};
  } catch (const YAML::Exception& e) {
    return {e.what()};
  }
}

}  // namespace

int RunRuleTestFiles(const std::vector<std::string>& files, std::ostream& out) {
  bool failed = false;
  for (const std::string& file : files) {
    out << "Unit Testing:  " << file << "\n";
    std::vector<std::string> errors = RunFile(file, out);
    if (errors.empty()) {
      out << "  SUCCESS\n";
    } else {
      out << "  FAILED:\n";
      for (const std::string& e : errors) out << e << "\n\n";
      failed = true;
    }
    out << "\n";
  }
  return failed ? 1 : 0;
}

}  // namespace pgdr::rules

// Rule files: YAML to GroupSpec, validated as Prometheus's rulefmt does.
#include "pgdr/rules/rule_file.h"

#include <set>

#include "pgdr/config/yaml_reader.h"
#include "pgdr/promql/parser.h"
#include "rules/template.h"

namespace pgdr::rules {
namespace {

bool IsMetricName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (!(c == '_' || c == ':' || std::isalpha(static_cast<unsigned char>(c)) ||
          (i > 0 && std::isdigit(static_cast<unsigned char>(c))))) {
      return false;
    }
  }
  return true;
}

std::string Pos(const YAML::Node& n) {
  return std::to_string(n.Mark().line + 1) + ":" + std::to_string(n.Mark().column + 1);
}

std::string Scalar(const YAML::Node& n) {
  if (!n || !n.IsScalar()) return "";
  return n.Scalar();
}

class Loader {
 public:
  explicit Loader(std::string file) : file_(std::move(file)) {}

  std::vector<std::string> Load(const YAML::Node& root, std::vector<GroupSpec>* out) {
    if (!root || root.IsNull()) return errors_;
    if (!root.IsMap()) {
      Error("yaml: unmarshal errors:\n  line " + std::to_string(root.Mark().line + 1) +
            ": cannot unmarshal into rulefmt.RuleGroups");
      return errors_;
    }
    UnknownKeys(root, {"groups"}, "rulefmt.RuleGroups");
    YAML::Node groups = root["groups"];
    if (!groups) return errors_;
    if (!groups.IsSequence()) {
      Error(Pos(groups) + ": groups must be a list");
      return errors_;
    }
    std::set<std::string> names;
    for (const YAML::Node& g : groups) {
      if (!g.IsMap()) {
        Error(Pos(g) + ": a group must be a map");
        continue;
      }
      UnknownKeys(g, {"name", "interval", "limit", "rules", "source_tenants"}, "rulefmt.RuleGroup");
      GroupSpec spec;
      spec.file = file_;
      spec.name = Scalar(g["name"]);
      if (spec.name.empty()) Error(Pos(g) + ": Groupname must not be empty");
      if (!names.insert(spec.name).second) {
        Error(Pos(g) + ": groupname: \"" + spec.name + "\" is repeated in the same file");
      }
      if (g["interval"]) {
        auto d = config::ParseDuration(Scalar(g["interval"]));
        if (!d.ok()) {
          Fatal(d.status().message());
        } else {
          spec.interval_ms = d->count();
        }
      }
      if (g["limit"]) {
        try {
          spec.limit = g["limit"].as<int>();
        } catch (const YAML::Exception&) {
          Error(Pos(g["limit"]) + ": limit must be an integer");
        }
      }
      YAML::Node rules = g["rules"];
      if (rules && rules.IsSequence()) {
        int index = 0;
        for (const YAML::Node& r : rules) {
          ++index;
          if (!r.IsMap()) {
            Error(Pos(r) + ": a rule must be a map");
            continue;
          }
          spec.rules.push_back(LoadRule(r, spec.name, index));
        }
      } else if (rules && !rules.IsNull()) {
        Error(Pos(rules) + ": rules must be a list");
      }
      out->push_back(std::move(spec));
    }
    if (!fatal_.empty()) return {fatal_};
    return errors_;
  }

 private:
  void Error(const std::string& msg) { errors_.push_back(file_ + ": " + msg); }
  // Errors while decoding YAML (bad durations) end the file's checks, as
  // in promtool, where they abort unmarshalling.
  void Fatal(const std::string& msg) {
    if (fatal_.empty()) fatal_ = file_ + ": " + msg;
  }

  void UnknownKeys(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                   std::string_view type) {
    for (const auto& kv : map) {
      std::string key = kv.first.Scalar();
      bool ok = false;
      for (auto a : allowed) ok = ok || a == key;
      if (!ok) {
        Error("yaml: unmarshal errors:\n  line " + std::to_string(kv.first.Mark().line + 1) +
              ": field " + key + " not found in type " + std::string(type));
      }
    }
  }

  RuleSpec LoadRule(const YAML::Node& r, const std::string& group, int index) {
    UnknownKeys(r, {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"},
                "rulefmt.RuleNode");
    RuleSpec rule;
    rule.line = r.Mark().line + 1;
    rule.record = Scalar(r["record"]);
    rule.alert = Scalar(r["alert"]);
    rule.expr_text = Scalar(r["expr"]);
    const std::string name = rule.alert.empty() ? rule.record : rule.alert;
    const YAML::Node& name_node = rule.alert.empty() ? r["record"] : r["alert"];
    // Positions as rulefmt prints them: "line:col" of the node, "0:0" for an
    // absent one, both nodes for record-and-alert, none for map keys.
    auto at = [](const YAML::Node& n) { return n ? Pos(n) : std::string("0:0"); };
    auto rule_error = [&](const std::string& where, const std::string& msg) {
      Error((where.empty() ? "" : where + ": ") + "group \"" + group + "\", rule " +
            std::to_string(index) + ", \"" + name + "\": " + msg);
    };
    if (!rule.record.empty() && !rule.alert.empty()) {
      rule_error(at(r["record"]) + ": " + at(r["alert"]),
                 "only one of 'record' and 'alert' must be set");
    }
    if (rule.record.empty() && rule.alert.empty()) {
      rule_error(at(r["record"]), "one of 'record' or 'alert' must be set");
    }
    if (rule.expr_text.empty()) {
      rule_error(at(r["expr"]), "field 'expr' must be set in rule");
    } else {
      auto expr = promql::ParseExpr(rule.expr_text);
      if (!expr.ok()) {
        rule_error(at(r["expr"]), "could not parse expression: " + expr.status().message());
      } else {
        rule.expr = std::shared_ptr<const promql::Expr>(std::move(*expr));
      }
    }
    auto duration = [&](const char* key, int64_t* out) {
      if (!r[key]) return;
      auto d = config::ParseDuration(Scalar(r[key]));
      if (!d.ok()) {
        Fatal(d.status().message());
      } else {
        *out = d->count();
      }
    };
    duration("for", &rule.for_ms);
    duration("keep_firing_for", &rule.keep_firing_for_ms);
    auto string_map = [&](const char* key, std::map<std::string, std::string>* out) {
      const YAML::Node& m = r[key];
      if (!m || m.IsNull()) return;
      if (!m.IsMap()) {
        rule_error(at(m), std::string(key) + " must be a map");
        return;
      }
      for (const auto& kv : m) (*out)[kv.first.Scalar()] = Scalar(kv.second);
    };
    string_map("labels", &rule.labels);
    string_map("annotations", &rule.annotations);
    if (!rule.record.empty()) {
      if (!rule.annotations.empty()) {
        rule_error(at(name_node), "invalid field 'annotations' in recording rule");
      }
      if (rule.for_ms != 0) rule_error(at(name_node), "invalid field 'for' in recording rule");
      if (rule.keep_firing_for_ms != 0) {
        rule_error(at(name_node), "invalid field 'keep_firing_for' in recording rule");
      }
      if (!IsMetricName(rule.record)) {
        rule_error(at(name_node), "invalid recording rule name: " + rule.record);
      }
    }
    for (const auto& [k, v] : rule.labels) {
      if (!tsdb::IsValidLabelName(k) || k == "__name__") rule_error("", "invalid label name: " + k);
    }
    for (const auto& [k, v] : rule.annotations) {
      if (!tsdb::IsValidLabelName(k)) rule_error("", "invalid annotation name: " + k);
    }
    if (!rule.alert.empty()) {
      for (const auto& [kind, m] :
           {std::pair{"label", &rule.labels}, std::pair{"annotation", &rule.annotations}}) {
        for (const auto& [k, v] : *m) {
          auto t = Template::Parse("__alert_" + rule.alert, AlertTemplateText(v));
          if (!t.ok()) {
            rule_error("", std::string(kind) + " \"" + k + "\": " + t.status().message());
          }
        }
      }
    }
    return rule;
  }

  std::string file_;
  std::vector<std::string> errors_;
  std::string fatal_;
};

}  // namespace

std::vector<std::string> ValidateRuleFile(const std::string& path, std::vector<GroupSpec>* groups) {
  auto root = config::LoadYamlFile(path);
  if (!root.ok()) return {root.status().message()};
  Loader loader(path);
  std::vector<GroupSpec> out;
  std::vector<std::string> errors;
  try {
    errors = loader.Load(*root, &out);
  } catch (const YAML::Exception& e) {
    errors.push_back(path + ": " + e.what());
  }
  if (errors.empty() && groups != nullptr) *groups = std::move(out);
  return errors;
}

core::Result<std::vector<GroupSpec>> LoadRuleFile(const std::string& path) {
  std::vector<GroupSpec> groups;
  std::vector<std::string> errors = ValidateRuleFile(path, &groups);
  if (!errors.empty()) {
    std::string msg;
    for (const auto& e : errors) msg += (msg.empty() ? "" : "\n") + e;
    return core::Status::InvalidArgument(msg);
  }
  return groups;
}

}  // namespace pgdr::rules

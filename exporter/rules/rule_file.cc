// Rule files: YAML to GroupSpec, validated as Prometheus's rulefmt does.
#include "pgdr/rules/rule_file.h"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "pgdr/config/yaml_reader.h"
#include "pgdr/core/files.h"
#include "pgdr/promql/parser.h"
#include "rules/go_yaml.h"
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
    // rulefmt.Parse decodes twice: into RuleGroups (strict), then into a
    // struct of yaml.Nodes; the second pass fails only at the top level.
    std::vector<std::string> second;
    if (!root.IsMap()) {
      TypeError(root, "rulefmt.RuleGroups");
      second.push_back(goyaml::TypeError(root, "rulefmt.ruleGroups"));
      return Finish(second);
    }
    if (Duplicates(root)) return Finish(goyaml::DuplicateKeys(root));
    const YAML::Node top = goyaml::Merged(root);
    UnknownKeys(top, {"groups"}, "rulefmt.RuleGroups");
    YAML::Node groups = top["groups"];
    if (!groups || groups.IsNull()) return Finish(second);
    if (!groups.IsSequence()) {
      TypeError(groups, "[]rulefmt.RuleGroup");
      second.push_back(goyaml::TypeError(groups, "[]yaml.Node"));
      return Finish(second);
    }
    std::set<std::string> names;
    for (const YAML::Node& node : groups) {
      if (!node.IsMap() && !node.IsNull()) {
        TypeError(node, "rulefmt.RuleGroup");
        continue;
      }
      if (Duplicates(node)) continue;
      const YAML::Node g = goyaml::Merged(node);
      UnknownKeys(g, {"name", "interval", "limit", "rules", "source_tenants"}, "rulefmt.RuleGroup");
      GroupSpec spec;
      spec.file = file_;
      spec.name = String(g["name"]);
      if (spec.name.empty()) Error(Pos(node) + ": Groupname must not be empty");
      if (!names.insert(spec.name).second) {
        Error(Pos(node) + ": groupname: \"" + spec.name + "\" is repeated in the same file");
      }
      Duration(g["interval"], &spec.interval_ms);
      Limit(g["limit"], &spec.limit);
      YAML::Node rules = g["rules"];
      if (rules && rules.IsSequence()) {
        int index = 0;
        for (const YAML::Node& r : rules) {
          ++index;
          if (!r.IsMap() && !r.IsNull()) {
            TypeError(r, "rulefmt.RuleNode");
            continue;
          }
          if (Duplicates(r)) continue;
          spec.rules.push_back(LoadRule(goyaml::Merged(r), r, spec.name, index));
        }
      } else if (rules && !rules.IsNull()) {
        TypeError(rules, "[]rulefmt.RuleNode");
      }
      out->push_back(std::move(spec));
    }
    return Finish(second);
  }

 private:
  void Error(const std::string& msg) { errors_.push_back(file_ + ": " + msg); }

  // Decoding errors (yaml.v3's TypeError lines): reported together, in the
  // file's order, and instead of the checks that run on decoded groups.
  void TypeError(const YAML::Node& node, std::string_view go_type) {
    terrors_.push_back(goyaml::TypeError(node, go_type));
  }
  bool Duplicates(const YAML::Node& map) {
    std::vector<std::string> d = goyaml::DuplicateKeys(map);
    terrors_.insert(terrors_.end(), d.begin(), d.end());
    return !d.empty();
  }
  std::string Unmarshal(std::vector<std::string> lines) const {
    auto line_of = [](const std::string& e) { return std::atoi(e.c_str() + 5); };  // "line N"
    std::stable_sort(lines.begin(), lines.end(), [&](const std::string& a, const std::string& b) {
      return line_of(a) < line_of(b);
    });
    std::string msg = file_ + ": yaml: unmarshal errors:";
    for (const std::string& l : lines) msg += "\n  " + l;
    return msg;
  }
  std::vector<std::string> Finish(const std::vector<std::string>& second_pass) {
    std::vector<std::string> out;
    if (!fatal_.empty()) {
      out.push_back(fatal_);
    } else if (!terrors_.empty()) {
      out.push_back(Unmarshal(terrors_));
    } else {
      out = errors_;
    }
    if (!second_pass.empty()) out.push_back(Unmarshal(second_pass));
    return out;
  }

  // A string field: any scalar (null: empty); a list or map is a TypeError.
  std::string String(const YAML::Node& n) {
    if (n && (n.IsMap() || n.IsSequence())) TypeError(n, "string");
    return Scalar(n);
  }
  // model.Duration: null leaves the zero value; a bad string ends decoding.
  void Duration(const YAML::Node& n, int64_t* out) {
    if (!n || n.IsNull()) return;
    if (!n.IsScalar()) {
      TypeError(n, "string");
      return;
    }
    auto d = config::ParseDuration(n.Scalar());
    if (!d.ok()) {
      Fatal(d.status().message());
    } else {
      *out = d->count();
    }
  }
  // An int field: yaml.v3 takes ints, and floats truncated.
  void Limit(const YAML::Node& n, int* out) {
    if (!n || n.IsNull()) return;
    const std::string tag = goyaml::ShortTag(n);
    long long i = 0;
    double f = 0;
    if (tag == "!!int" && YAML::convert<long long>::decode(n, i)) {
      *out = static_cast<int>(i);
    } else if (tag == "!!float" && YAML::convert<double>::decode(n, f)) {
      *out = static_cast<int>(f);
    } else {
      TypeError(n, "int");
    }
  }
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
        terrors_.push_back("line " + std::to_string(kv.first.Mark().line + 1) + ": field " + key +
                           " not found in type " + std::string(type));
      }
    }
  }

  // `r` is the rule's map with merge keys applied, `node` the map as written.
  RuleSpec LoadRule(const YAML::Node& r, const YAML::Node& node, const std::string& group,
                    int index) {
    UnknownKeys(r, {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"},
                "rulefmt.RuleNode");
    RuleSpec rule;
    rule.line = node.Mark().line + 1;
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
        // Prometheus evaluates a rule's expression as printed (String()),
        // where matchers are sorted: that order is what absent() sees.
        auto printed = promql::ParseExpr(promql::ToString(**expr));
        rule.expr = std::shared_ptr<const promql::Expr>(printed.ok() ? std::move(*printed)
                                                                     : std::move(*expr));
      }
    }
    Duration(r["for"], &rule.for_ms);
    Duration(r["keep_firing_for"], &rule.keep_firing_for_ms);
    auto string_map = [&](const char* key, std::map<std::string, std::string>* out) {
      const YAML::Node& m = r[key];
      if (!m || m.IsNull()) return;
      if (!m.IsMap()) {
        TypeError(m, "map[string]string");
        return;
      }
      if (Duplicates(m)) return;
      for (const auto& kv : goyaml::Merged(m)) (*out)[kv.first.Scalar()] = String(kv.second);
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
  std::vector<std::string> terrors_;
  std::string fatal_;
};

}  // namespace

std::vector<std::string> ValidateRuleFile(const std::string& path, std::vector<GroupSpec>* groups) {
  auto text = core::ReadFile(path);
  if (!text.ok()) return {text.status().message()};
  // Both of rulefmt.Parse's passes fail alike on what does not parse.
  if (std::string bad = goyaml::Utf8Error(*text); !bad.empty()) {
    return {path + ": yaml: " + bad, path + ": yaml: " + bad};
  }
  YAML::Node root;
  try {
    root = YAML::Load(*text);
  } catch (const YAML::Exception& e) {
    std::string msg = path + ": yaml: ";
    if (!e.mark.is_null()) msg += "line " + std::to_string(e.mark.line + 1) + ": ";
    return {msg + e.msg, msg + e.msg};
  }
  Loader loader(path);
  std::vector<GroupSpec> out;
  std::vector<std::string> errors;
  try {
    errors = loader.Load(root, &out);
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

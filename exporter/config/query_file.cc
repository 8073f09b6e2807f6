#include <cctype>
#include <sstream>

#include "pgdr/config/query_spec.h"
#include "pgdr/config/yaml_reader.h"
#include "pgdr/core/files.h"
#include "pgdr/core/strings.h"

namespace pgdr::config {
namespace {

long long ToComparable(int major, int minor, int patch) {
  return major * 1000000LL + minor * 1000LL + patch;
}

core::Result<long long> ParseSemver(const std::string& text) {
  int parts[3] = {0, 0, 0};
  size_t i = 0;
  int idx = 0;
  while (i < text.size() && idx < 3) {
    size_t start = i;
    while (i < text.size() && isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (start == i) return core::Status::InvalidArgument("bad version \"" + text + "\"");
    parts[idx++] = std::stoi(text.substr(start, i - start));
    if (i < text.size() && text[i] == '.') ++i;
  }
  if (i != text.size()) return core::Status::InvalidArgument("bad version \"" + text + "\"");
  return ToComparable(parts[0], parts[1], parts[2]);
}

ColumnUsage ParseUsage(const YamlReader& r, const YAML::Node& n) {
  const std::string u = r.AsString(n, "usage");
  if (u == "LABEL") return ColumnUsage::kLabel;
  if (u == "GAUGE") return ColumnUsage::kGauge;
  if (u == "COUNTER") return ColumnUsage::kCounter;
  if (u == "DISCARD") return ColumnUsage::kDiscard;
  if (u == "MAPPEDMETRIC") return ColumnUsage::kMappedMetric;
  if (u == "DURATION") return ColumnUsage::kDuration;
  r.Fail(n, "unsupported usage \"" + u +
                "\" (supported: LABEL, GAUGE, COUNTER, DISCARD, MAPPEDMETRIC, DURATION)");
}

// A description as exposition HELP text: the serializer writes HELP as is,
// so backslashes and line breaks (YAML block scalars) are escaped here.
std::string HelpText(std::string_view description) {
  description = core::TrimRight(description);
  std::string out;
  out.reserve(description.size());
  for (const char c : description) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

ColumnSpec ParseColumn(const YamlReader& r, const std::string& query, const std::string& prefix,
                       const std::string& column, const YAML::Node& body) {
  r.CheckKeys(body, {"usage", "description", "name", "scale", "mapping"},
              "column \"" + column + "\"");
  ColumnSpec c;
  c.column = column;
  if (!body["usage"]) r.Fail(body, "missing required key \"usage\"");
  c.usage = ParseUsage(r, body["usage"]);
  c.description = HelpText(r.StringOr(body, "description", column));
  c.metric_name = r.StringOr(body, "name", prefix + query + "_" + column);
  if (c.usage == ColumnUsage::kDuration && !body["name"]) c.metric_name += "_milliseconds";
  c.scale = r.NumberOr(body, "scale", 1.0);
  if (const YAML::Node m = body["mapping"]; m) {
    r.ExpectMap(m, "mapping");
    for (const auto& kv : m) c.mapping[kv.first.Scalar()] = r.AsNumber(kv.second, "mapping value");
  }
  if (c.usage == ColumnUsage::kMappedMetric && c.mapping.empty()) {
    r.Fail(body, "MAPPEDMETRIC column \"" + column + "\" needs a mapping");
  }
  return c;
}

QuerySpec ParseQuery(const YamlReader& r, const std::string& name, const YAML::Node& body,
                     const std::string& prefix) {
  r.CheckKeys(body,
              {"query", "metrics", "primary", "master", "role", "runonserver", "predicate_query",
               "cache_seconds", "target_databases", "name"},
              "query \"" + name + "\"");
  QuerySpec q;
  q.name = name;
  // CNPG: `name` replaces the query's key in metric names (two variants of one query).
  const std::string metric_stem = r.StringOr(body, "name", name);
  q.source = r.Where(body);
  q.sql = r.String(body, "query");
  if (r.BoolOr(body, "primary", false) || r.BoolOr(body, "master", false)) {
    q.role = ServerRole::kPrimary;
  }
  if (auto role = r.OptString(body, "role")) {
    if (*role == "any")
      q.role = ServerRole::kAny;
    else if (*role == "primary")
      q.role = ServerRole::kPrimary;
    else if (*role == "replica")
      q.role = ServerRole::kReplica;
    else
      r.Fail(body["role"], "role must be any, primary or replica");
  }
  if (auto range = r.OptString(body, "runonserver")) {
    auto v = VersionRange::Parse(*range);
    if (!v.ok()) r.Fail(body["runonserver"], v.status().message());
    q.versions = std::move(*v);
  }
  const long long ttl = r.IntOr(body, "cache_seconds", 0);
  if (ttl < 0) r.Fail(body["cache_seconds"], "cache_seconds must not be negative");
  q.cache_ttl = std::chrono::seconds(ttl);
  q.predicate_sql = r.OptString(body, "predicate_query");
  q.target_databases = r.StringList(body, "target_databases");
  for (const auto& entry : q.target_databases) {
    if (auto bad = DatabasePatternError(entry)) r.Fail(body["target_databases"], *bad);
  }
  const YAML::Node metrics = body["metrics"];
  if (!metrics) r.Fail(body, "missing required key \"metrics\"");
  r.ExpectSequence(metrics, "metrics");
  for (const auto& item : metrics) {
    r.ExpectMap(item, "metrics entry");
    for (const auto& kv : item) {
      q.columns.push_back(ParseColumn(r, metric_stem, prefix, kv.first.Scalar(), kv.second));
    }
  }
  return q;
}

}  // namespace

core::Result<VersionRange> VersionRange::Parse(const std::string& text) {
  VersionRange range;
  const std::string& rest = text;
  size_t pos = 0;
  while (true) {
    size_t bar = rest.find("||", pos);
    std::string alt = rest.substr(pos, bar == std::string::npos ? std::string::npos : bar - pos);
    std::istringstream words(alt);
    std::string word;
    std::vector<Bound> bounds;
    while (words >> word) {
      Bound b{Bound::Op::kEq, 0};
      size_t skip = 0;
      if (word.rfind(">=", 0) == 0)
        b.op = Bound::Op::kGe, skip = 2;
      else if (word.rfind("<=", 0) == 0)
        b.op = Bound::Op::kLe, skip = 2;
      else if (word.rfind('>', 0) == 0)
        b.op = Bound::Op::kGt, skip = 1;
      else if (word.rfind('<', 0) == 0)
        b.op = Bound::Op::kLt, skip = 1;
      else if (word.rfind('=', 0) == 0)
        skip = 1;
      auto v = ParseSemver(word.substr(skip));
      if (!v.ok())
        return core::Status::InvalidArgument("runonserver \"" + text +
                                             "\": " + v.status().message());
      b.version = *v;
      bounds.push_back(b);
    }
    if (bounds.empty())
      return core::Status::InvalidArgument("runonserver \"" + text + "\": empty range");
    range.alternatives_.push_back(std::move(bounds));
    if (bar == std::string::npos) break;
    pos = bar + 2;
  }
  return range;
}

bool VersionRange::Contains(int server_version_num) const {
  if (alternatives_.empty()) return true;
  long long v = 0;
  if (server_version_num >= 100000) {
    v = ToComparable(server_version_num / 10000, server_version_num % 10000, 0);
  } else {
    v = ToComparable(server_version_num / 10000, server_version_num / 100 % 100,
                     server_version_num % 100);
  }
  for (const auto& alt : alternatives_) {
    bool all = true;
    for (const auto& b : alt) {
      switch (b.op) {
        case Bound::Op::kLt:
          all = all && v < b.version;
          break;
        case Bound::Op::kLe:
          all = all && v <= b.version;
          break;
        case Bound::Op::kGt:
          all = all && v > b.version;
          break;
        case Bound::Op::kGe:
          all = all && v >= b.version;
          break;
        case Bound::Op::kEq:
          all = all && v == b.version;
          break;
      }
    }
    if (all) return true;
  }
  return false;
}

core::Result<std::vector<QuerySpec>> ParseQueryFile(const std::string& text,
                                                    const std::string& name,
                                                    const std::string& metric_prefix) {
  auto root = LoadYamlString(text, name);
  if (!root.ok()) return root.status();
  std::vector<QuerySpec> out;
  const YamlReader r(name);
  core::Status s = GuardYaml(name, [&] {
    if (root->IsNull()) return;
    r.ExpectMap(*root, "queries file");
    if (root->IsMap() && (*root)["kind"] && (*root)["kind"].Scalar() == "ConfigMap") {
      // A Kubernetes ConfigMap as CNPG users keep it: every data value is a queries document.
      const YAML::Node data = (*root)["data"];
      if (!data) r.Fail(*root, "ConfigMap without data");
      r.ExpectMap(data, "data");
      for (const auto& kv : data) {
        auto inner = ParseQueryFile(r.AsString(kv.second, "data value"),
                                    name + " data." + kv.first.Scalar(), metric_prefix);
        if (!inner.ok()) throw YamlError(inner.status().message());
        for (auto& q : *inner) out.push_back(std::move(q));
      }
      return;
    }
    for (const auto& kv : *root) {
      r.ExpectMap(kv.second, "query \"" + kv.first.Scalar() + "\"");
      out.push_back(ParseQuery(r, kv.first.Scalar(), kv.second, metric_prefix));
    }
  });
  if (!s.ok()) return s;
  return out;
}

core::Result<std::vector<QuerySpec>> LoadQueryFile(const std::string& path,
                                                   const std::string& metric_prefix) {
  auto text = core::ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseQueryFile(*text, path, metric_prefix);
}

}  // namespace pgdr::config

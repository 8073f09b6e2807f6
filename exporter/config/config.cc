#include "pgdr/config/config.h"

#include <glob.h>
#include <libpq-fe.h>

#include <algorithm>
#include <memory>
#include <set>
#include <tuple>

#include "config/leader_election_parse.h"
#include "pgdr/config/yaml_reader.h"
#include "pgdr/core/files.h"

namespace pgdr::config {
namespace {

struct ConninfoDeleter {
  void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};
using ConninfoPtr = std::unique_ptr<PQconninfoOption, ConninfoDeleter>;

// libpq's parse errors quote pieces of the string (`missing "=" after "..."`,
// `invalid percent-encoded token: "..."`), and a piece may be part of a
// password: each quoted piece (longer than one character, so `"="` stays)
// found in the DSN is replaced by "<redacted>".
std::string RedactConninfoError(std::string message, const std::string& dsn) {
  while (!message.empty() && message.back() == '\n') message.pop_back();
  std::string out;
  size_t pos = 0;
  while (pos < message.size()) {
    const size_t open = message.find('"', pos);
    const size_t close = open == std::string::npos ? open : message.find('"', open + 1);
    if (close == std::string::npos) break;
    const std::string piece = message.substr(open + 1, close - open - 1);
    out += message.substr(pos, open + 1 - pos);
    out += piece.size() > 1 && dsn.find(piece) != std::string::npos ? "<redacted>" : piece;
    out += '"';
    pos = close + 1;
  }
  return out + message.substr(std::min(pos, message.size()));
}

ConninfoPtr ParseConninfo(const std::string& dsn, std::string* error) {
  char* err = nullptr;
  ConninfoPtr opts(PQconninfoParse(dsn.c_str(), &err));
  if (err != nullptr) {
    if (error != nullptr) *error = RedactConninfoError(err, dsn);
    PQfreemem(err);
  }
  return opts;
}

bool IsValidLabelName(const std::string& name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name) {
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return name.rfind("__", 0) != 0;
}

CollectionConfig ParseCollection(const YamlReader& r, const YAML::Node& n) {
  CollectionConfig c;
  if (!n) return c;
  r.CheckKeys(n,
              {"interval", "statement_timeout", "connect_timeout", "target_deadline", "max_backoff",
               "max_series_per_query", "max_databases", "statements_top_n"},
              "collection");
  c.interval = r.DurationOr(n, "interval", c.interval);
  if (c.interval.count() < 100) r.Fail(n["interval"], "interval must be at least 100ms");
  c.statement_timeout =
      r.DurationOr(n, "statement_timeout", std::min(c.statement_timeout, c.interval));
  c.connect_timeout = r.DurationOr(n, "connect_timeout", std::min(c.connect_timeout, c.interval));
  c.target_deadline = r.DurationOr(n, "target_deadline", std::min(c.target_deadline, c.interval));
  if (c.target_deadline > c.interval) {
    r.Fail(n["target_deadline"], "target_deadline must not exceed interval");
  }
  c.max_backoff = r.DurationOr(n, "max_backoff", c.max_backoff);
  const long long max_series = r.IntOr(n, "max_series_per_query", 10000);
  if (max_series <= 0) r.Fail(n["max_series_per_query"], "max_series_per_query must be positive");
  c.max_series_per_query = static_cast<size_t>(max_series);
  const long long max_databases = r.IntOr(n, "max_databases", 32);
  if (max_databases <= 0) r.Fail(n["max_databases"], "max_databases must be positive");
  c.max_databases = static_cast<size_t>(max_databases);
  const long long top_n = r.IntOr(n, "statements_top_n", 20);
  if (top_n <= 0) r.Fail(n["statements_top_n"], "statements_top_n must be positive");
  c.statements_top_n = static_cast<size_t>(top_n);
  return c;
}

std::map<std::string, std::string> ParseStaticLabels(const YamlReader& r, const YAML::Node& n) {
  std::map<std::string, std::string> labels = r.StringMap(n, "labels");
  for (const auto& [name, value] : labels) {
    if (!IsValidLabelName(name)) r.Fail(n["labels"], "invalid label name \"" + name + "\"");
    if (name == "cluster" || name == "member" || name == "region" || name == "instance" ||
        name == "job") {
      r.Fail(n["labels"], "label \"" + name + "\" is reserved");
    }
  }
  return labels;
}

// `targets:` of a discovery entry (`what`: "discovery.patroni"): what each
// discovered member's target carries besides its name, host and port, which
// come from `from` (Patroni's /cluster, the Cluster's status).
TargetConfig ParseDiscoveryTargets(const YamlReader& r, const YAML::Node& n,
                                   const std::string& what, const std::string& from) {
  r.ExpectMap(n, what + " targets");
  r.CheckKeys(n, {"dsn", "password_env", "password_file", "region", "labels"}, what + " targets");
  TargetConfig t;
  t.where = r.Where(n);
  t.region = r.StringOr(n, "region", "");
  t.dsn = r.StringOr(n, "dsn", "");
  std::string error;
  const ConninfoPtr opts = ParseConninfo(t.dsn, &error);
  if (!opts || t.dsn.starts_with("postgres")) {
    r.Fail(n["dsn"], "dsn: libpq key=value options (not a URI)" +
                         (error.empty() ? std::string() : ": " + error));
  }
  for (const PQconninfoOption* o = opts.get(); o != nullptr && o->keyword != nullptr; ++o) {
    const std::string k = o->keyword;
    if (o->val != nullptr && (k == "host" || k == "hostaddr" || k == "port")) {
      r.Fail(n["dsn"], "dsn must not set " + k + ": each member's comes from " + from);
    }
  }
  t.password_env = r.OptString(n, "password_env");
  t.password_file = r.OptString(n, "password_file");
  if (t.password_env && t.password_file) {
    r.Fail(n, "set at most one of password_env and password_file");
  }
  t.labels = ParseStaticLabels(r, n);
  return t;
}

TargetConfig ParseTarget(const YamlReader& r, const YAML::Node& n) {
  r.CheckKeys(n,
              {"cluster", "member", "region", "dsn", "password_env", "password_file", "labels",
               "memory", "control"},
              "target");
  TargetConfig t;
  t.where = r.Where(n);
  t.cluster = r.String(n, "cluster");
  t.member = r.String(n, "member");
  t.region = r.StringOr(n, "region", "");
  t.dsn = r.String(n, "dsn");
  std::string error;
  if (!ParseConninfo(t.dsn, &error)) r.Fail(n["dsn"], "invalid dsn: " + error);
  t.password_env = r.OptString(n, "password_env");
  t.password_file = r.OptString(n, "password_file");
  if (t.password_env && t.password_file) {
    r.Fail(n, "set at most one of password_env and password_file");
  }
  t.labels = ParseStaticLabels(r, n);
  if (const YAML::Node m = n["memory"]; m) {
    r.CheckKeys(m, {"local", "cgroup_path"}, "memory");
    t.local_memory = r.BoolOr(m, "local", false);
    t.cgroup_path = r.StringOr(m, "cgroup_path", "");
  }
  if (const YAML::Node c = n["control"]; c) {
    r.ExpectMap(c, "control");
    r.CheckKeys(c, {"data_dir", "bin_dir", "log_file", "replication_conninfo"}, "control");
    const std::string base = core::DirName(r.file());
    t.control.data_dir = core::ResolvePath(base, r.StringOr(c, "data_dir", ""));
    t.control.bin_dir = core::ResolvePath(base, r.StringOr(c, "bin_dir", ""));
    t.control.log_file = core::ResolvePath(base, r.StringOr(c, "log_file", ""));
    t.control.replication_conninfo = r.StringOr(c, "replication_conninfo", "");
    if (!t.control.replication_conninfo.empty() &&
        !ParseConninfo(t.control.replication_conninfo, &error)) {
      r.Fail(c["replication_conninfo"], "invalid conninfo: " + error);
    }
    if (t.control.data_dir.empty() && (!t.control.bin_dir.empty() || !t.control.log_file.empty())) {
      r.Fail(c, "control needs data_dir");
    }
  }
  return t;
}

PgBouncerConfig ParsePgBouncer(const YamlReader& r, const YAML::Node& n) {
  r.CheckKeys(
      n, {"name", "cluster", "dsn", "password_env", "password_file", "databases_file", "read_pool"},
      "pgbouncer");
  PgBouncerConfig b;
  b.where = r.Where(n);
  b.name = r.String(n, "name");
  b.cluster = r.StringOr(n, "cluster", "");
  b.dsn = r.String(n, "dsn");
  std::string error;
  if (!ParseConninfo(b.dsn, &error)) r.Fail(n["dsn"], "invalid dsn: " + error);
  b.password_env = r.OptString(n, "password_env");
  b.password_file = r.OptString(n, "password_file");
  if (b.password_env && b.password_file) {
    r.Fail(n, "set at most one of password_env and password_file");
  }
  b.databases_file = r.StringOr(n, "databases_file", "");
  if (const YAML::Node pool = n["read_pool"]; pool) {
    if (b.cluster.empty() || b.databases_file.empty()) {
      r.Fail(pool, "read_pool needs the pgbouncer's cluster and databases_file");
    }
    b.read_pool = ParseReadPool(r, pool);
  }
  return b;
}

PatroniSourceConfig ParsePatroniSource(const YamlReader& r, const YAML::Node& n) {
  r.CheckKeys(n, {"cluster", "urls", "interval", "timeout", "targets"}, "discovery.patroni entry");
  PatroniSourceConfig p;
  p.where = r.Where(n);
  p.cluster = r.String(n, "cluster");
  p.urls = r.StringList(n, "urls");
  if (p.urls.empty()) r.Fail(n, "discovery.patroni entry needs at least one url");
  for (auto& url : p.urls) {
    if (!url.starts_with("http://") && !url.starts_with("https://")) {
      r.Fail(n["urls"], "a Patroni REST API url starts with http:// or https://");
    }
    while (url.ends_with("/")) url.pop_back();
  }
  p.interval = r.DurationOr(n, "interval", p.interval);
  p.timeout = r.DurationOr(n, "timeout", p.timeout);
  if (p.interval.count() <= 0 || p.timeout.count() <= 0) {
    r.Fail(n, "interval and timeout must be positive");
  }
  if (const YAML::Node t = n["targets"]; t) {
    p.target_template = ParseDiscoveryTargets(r, t, "discovery.patroni", "Patroni's /cluster");
    p.target_template->cluster = p.cluster;
  }
  return p;
}

CnpgSourceConfig ParseCnpgSource(const YamlReader& r, const YAML::Node& n) {
  r.CheckKeys(n,
              {"namespaces", "clusters", "api_url", "bearer_token_file", "tls_ca_file",
               "host_template", "port", "interval", "timeout", "targets"},
              "discovery.cnpg entry");
  CnpgSourceConfig c;
  c.where = r.Where(n);
  c.namespaces = r.StringList(n, "namespaces");
  if (c.namespaces.empty()) r.Fail(n, "discovery.cnpg entry needs at least one namespace");
  c.clusters = r.StringList(n, "clusters");
  c.api_url = r.StringOr(n, "api_url", "");
  if (!c.api_url.empty() && !c.api_url.starts_with("https://") &&
      !c.api_url.starts_with("http://")) {
    r.Fail(n["api_url"], "api_url starts with https:// (or http://)");
  }
  c.bearer_token_file = r.StringOr(n, "bearer_token_file", "");
  c.tls_ca_file = r.StringOr(n, "tls_ca_file", "");
  c.host_template = r.StringOr(n, "host_template", c.host_template);
  if (c.host_template.find("{pod}") == std::string::npos) {
    r.Fail(n["host_template"], "host_template must contain {pod}");
  }
  c.port = static_cast<int>(r.IntOr(n, "port", c.port));
  if (c.port <= 0 || c.port > 65535) r.Fail(n["port"], "port must be 1..65535");
  c.interval = r.DurationOr(n, "interval", c.interval);
  c.timeout = r.DurationOr(n, "timeout", c.timeout);
  if (c.interval.count() <= 0 || c.timeout.count() <= 0) {
    r.Fail(n, "interval and timeout must be positive");
  }
  if (const YAML::Node t = n["targets"]; t) {
    c.target_template =
        ParseDiscoveryTargets(r, t, "discovery.cnpg", "host_template and port of the entry");
  }
  return c;
}

core::Status ExpandGlob(const std::string& pattern, std::vector<std::string>* out) {
  glob_t g{};
  const int rc = glob(pattern.c_str(), GLOB_ERR, nullptr, &g);
  if (rc == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) out->emplace_back(g.gl_pathv[i]);
  }
  globfree(&g);
  if (rc == GLOB_NOMATCH) return core::Status::NotFound(pattern + ": no file matches");
  if (rc != 0) return core::Status::IOError(pattern + ": cannot read");
  return core::Status::OK();
}

}  // namespace

bool TargetConfig::SameCollection(const TargetConfig& o) const {
  const auto fields = [](const TargetConfig& t) {
    return std::tie(t.cluster, t.member, t.region, t.dsn, t.password_env, t.password_file, t.labels,
                    t.local_memory, t.cgroup_path);
  };
  return fields(*this) == fields(o);
}

bool PgBouncerConfig::SameCollection(const PgBouncerConfig& o) const {
  const auto fields = [](const PgBouncerConfig& b) {
    return std::tie(b.name, b.cluster, b.dsn, b.password_env, b.password_file, b.databases_file);
  };
  return fields(*this) == fields(o);
}

std::string RedactedDsn(const std::string& dsn) {
  ConninfoPtr opts = ParseConninfo(dsn, nullptr);
  if (!opts) return "<invalid dsn>";
  std::string out;
  for (PQconninfoOption* o = opts.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr || o->val[0] == '\0') continue;
    if (!out.empty()) out += ' ';
    out += o->keyword;
    out += '=';
    out += std::string(o->keyword) == "password" ? "xxxxx" : o->val;
  }
  return out;
}

core::Result<Config> LoadConfig(const std::string& path, OwnedSections* sections) {
  auto root = LoadYamlFile(path);
  if (!root.ok()) return root.status();
  Config c;
  c.file = path;
  const std::string base = core::DirName(path);
  const YamlReader r(path);
  core::Status s = GuardYaml(path, [&] {
    r.CheckKeys(*root,
                {"collection", "query_files", "targets", "backup_stores", "rule_files",
                 "evaluation_interval", "external_labels", "alerting", "actions", "maintenance",
                 "drills", "pgbouncers", "discovery", "leader_election"},
                "config");
    c.collection = ParseCollection(r, (*root)["collection"]);
    if (const YAML::Node qf = (*root)["query_files"]; qf) {
      r.ExpectSequence(qf, "query_files");
      for (const auto& item : qf) {
        QueryFileConfig f;
        if (item.IsScalar()) {
          f.path = item.Scalar();
        } else {
          r.CheckKeys(item, {"path", "metric_prefix"}, "query_files entry");
          f.path = r.String(item, "path");
          f.metric_prefix = r.StringOr(item, "metric_prefix", f.metric_prefix);
        }
        std::vector<std::string> files;
        if (core::Status g = ExpandGlob(core::ResolvePath(base, f.path), &files); !g.ok()) {
          r.Fail(item, g.message());
        }
        for (const auto& file : files) {
          auto queries = LoadQueryFile(file, f.metric_prefix);
          if (!queries.ok()) throw YamlError(queries.status().message());
          for (auto& q : *queries) c.queries.push_back(std::move(q));
        }
        c.query_files.push_back(std::move(f));
      }
    }
    const YAML::Node targets = (*root)["targets"];
    if (!targets) r.Fail(*root, "missing required key \"targets\"");
    r.ExpectSequence(targets, "targets");
    std::set<std::string> seen;
    for (const auto& item : targets) {
      TargetConfig t = ParseTarget(r, item);
      if (!seen.insert(t.Key()).second) r.Fail(item, "duplicate target " + t.Key());
      c.targets.push_back(std::move(t));
    }
    const YAML::Node stores = (*root)["backup_stores"];
    if (stores) r.ExpectSequence(stores, "backup_stores");
    if (sections != nullptr) {
      *sections = OwnedSections{r,
                                stores,
                                (*root)["alerting"],
                                (*root)["actions"],
                                (*root)["maintenance"],
                                (*root)["drills"]};
    }
    if (const YAML::Node pb = (*root)["pgbouncers"]; pb) {
      r.ExpectSequence(pb, "pgbouncers");
      std::set<std::string> names;
      for (const auto& item : pb) {
        PgBouncerConfig b = ParsePgBouncer(r, item);
        if (!names.insert(b.name).second) r.Fail(item, "duplicate pgbouncer " + b.name);
        c.pgbouncers.push_back(std::move(b));
      }
    }
    if (const YAML::Node d = (*root)["discovery"]; d) {
      r.CheckKeys(d, {"patroni", "cnpg"}, "discovery");
      if (const YAML::Node pat = d["patroni"]; pat) {
        r.ExpectSequence(pat, "discovery.patroni");
        std::set<std::string> clusters;
        for (const auto& item : pat) {
          PatroniSourceConfig p = ParsePatroniSource(r, item);
          if (!clusters.insert(p.cluster).second) {
            r.Fail(item, "duplicate discovery.patroni cluster " + p.cluster);
          }
          c.patroni.push_back(std::move(p));
        }
      }
      if (const YAML::Node cn = d["cnpg"]; cn) {
        r.ExpectSequence(cn, "discovery.cnpg");
        for (const auto& item : cn) c.cnpg.push_back(ParseCnpgSource(r, item));
      }
    }
    if (const YAML::Node le = (*root)["leader_election"]; le) {
      c.leader_election = ParseLeaderElection(r, le);
    }
    for (const auto& rf : r.StringList(*root, "rule_files")) {
      std::vector<std::string> files;
      if (core::Status g = ExpandGlob(core::ResolvePath(base, rf), &files); !g.ok()) {
        r.Fail((*root)["rule_files"], g.message());
      }
      c.rule_files.insert(c.rule_files.end(), files.begin(), files.end());
    }
    c.evaluation_interval = r.DurationOr(*root, "evaluation_interval", c.evaluation_interval);
    c.external_labels = r.StringMap(*root, "external_labels");
  });
  if (!s.ok()) return s;
  return c;
}

}  // namespace pgdr::config

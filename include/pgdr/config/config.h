// The exporter's configuration file (--config.file), loaded into plain data.
//
// Unknown keys, wrong types and missing required fields are errors naming
// file:line:col. Secrets are never stored in the YAML in clear when it can be
// avoided: a target's password comes from `password_env` or `password_file`
// and is read at connect time, never logged (see RedactedDsn()).
//
// Sections owned by later modules (`backup_stores` by store, `alerting`,
// `actions` and `maintenance` by actions) are not kept here as YAML: LoadConfig
// hands them out once, in OwnedSections, and app's LoadAndValidate has the
// owners parse and validate them into their typed configs at once
// (store::StoreSettings, actions::ActionsConfig). Config holds only
// what is plain data.
//
// Thread-safety: a Config is immutable once loaded; a reload builds a new one.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "pgdr/config/leader_election_config.h"
#include "pgdr/config/query_spec.h"
#include "pgdr/config/read_pool_config.h"
#include "pgdr/config/yaml_reader.h"
#include "pgdr/core/status.h"

namespace pgdr::config {

using std::chrono::milliseconds;

// How pgdr may control a member's server process when it runs on the host
// where `pgdr_exporter switchover` / `rejoin` run (docs/actions.md): stop and
// start it with pg_ctl, rewind it with pg_rewind, make it a standby. The
// exporter itself never uses these; they are read by those commands only.
struct ServerControl {
  std::string data_dir;  // empty: pgdr cannot stop, rewind or restart this member
  std::string bin_dir;   // pg_ctl, pg_rewind, pg_controldata; default: found in PATH
  std::string log_file;  // pg_ctl start -l; default <data_dir>/pgdr_pg_ctl.log
  // The conninfo a rejoined member streams with (user, passfile, sslmode...);
  // host and port are the new primary's. Default: the new primary's `dsn`.
  std::string replication_conninfo;
};

struct TargetConfig {
  std::string cluster;
  std::string member;
  std::string region;  // optional; becomes the `region` label when set
  std::string dsn;     // libpq connection string or URI, without the password
  std::optional<std::string> password_env;
  std::optional<std::string> password_file;
  std::map<std::string, std::string> labels;  // static labels on every series
  bool local_memory = false;                  // read postmaster + children RSS/PSS from /proc
  std::string cgroup_path;                    // cgroup v2 dir with memory.current / memory.max
  ServerControl control;                      // `control:`; not part of collection
  std::string where;                          // file:line:col of the entry, for messages

  // "cluster/member", the name used in logs and /api/v1/targets.
  std::string Key() const { return cluster + "/" + member; }
  // Equal in everything but `where`: a reload keeps the connection of a
  // member whose entry only moved in the file.
  bool SameCollection(const TargetConfig& o) const;
};

// A PgBouncer whose admin console is collected (pgdr_pgbouncer_*) and which
// the redirect action can repoint at a new primary.
struct PgBouncerConfig {
  std::string name;     // the `pooler` label
  std::string cluster;  // optional: the cluster it fronts (`cluster` label)
  std::string
      dsn;  // admin console, e.g. "host=127.0.0.1 port=6432 dbname=pgbouncer user=pgbouncer"
  std::optional<std::string> password_env;
  std::optional<std::string> password_file;
  std::string databases_file;  // optional: the [databases] include file redirect rewrites
  // A read database pgdr keeps pointed at a fresh replica (actions/read_pools.h).
  std::optional<ReadPoolConfig> read_pool;
  std::string where;  // file:line:col of the entry

  // Equal in everything but `where` (see TargetConfig::SameCollection).
  bool SameCollection(const PgBouncerConfig& o) const;
};

// One Patroni cluster pgdr watches through its members' REST APIs
// (`discovery: {patroni: [...]}`): pgdr_patroni_* series, polled on its own
// thread so that a hung member API never delays collection.
struct PatroniSourceConfig {
  std::string cluster;            // the `cluster` label (Patroni's scope, by default)
  std::vector<std::string> urls;  // members' REST APIs, e.g. http://10.0.0.1:8008
  milliseconds interval{5000};
  milliseconds timeout{2000};  // per request
  // `targets:`: when set, every member in /cluster becomes a collection
  // target of this cluster: this entry with `member` Patroni's name and
  // "host=<host> port=<port>" of /cluster put before `dsn` (its options
  // without host or port). Unset: the members are listed under `targets`.
  std::optional<TargetConfig> target_template;
  std::string where;  // file:line:col of the entry

  bool operator==(const PatroniSourceConfig& o) const {
    const bool same_template =
        target_template.has_value() == o.target_template.has_value() &&
        (!target_template || target_template->SameCollection(*o.target_template));
    return same_template && std::tie(cluster, urls, interval, timeout) ==
                                std::tie(o.cluster, o.urls, o.interval, o.timeout);
  }
};

// The CloudNativePG Clusters pgdr watches through the Kubernetes API
// (`discovery: {cnpg: [...]}`): pgdr_cnpg_* series from each Cluster's status
// and the Backup objects of the namespaces, polled on their own thread.
struct CnpgSourceConfig {
  std::vector<std::string> namespaces;  // required
  std::vector<std::string> clusters;    // Cluster names to keep; empty: every one
  // The API server; empty fields take the pod's (http::InClusterDefaults).
  std::string api_url, bearer_token_file, tls_ca_file;
  // A discovered instance's address: {pod}, {cluster}, {namespace} replaced.
  std::string host_template = "{pod}.{cluster}-any.{namespace}.svc";
  int port = 5432;
  milliseconds interval{15000};
  milliseconds timeout{5000};  // per request
  // `targets:`: when set, every instance of a discovered Cluster becomes a
  // collection target: this entry with `cluster` the Cluster's name,
  // `member` the pod's, and "host=<host_template> port=<port>" put before
  // `dsn`. Unset: the instances are only listed (pgdr_cnpg_discovered_target).
  std::optional<TargetConfig> target_template;
  std::string where;  // file:line:col of the entry

  bool operator==(const CnpgSourceConfig& o) const {
    const bool same_template =
        target_template.has_value() == o.target_template.has_value() &&
        (!target_template || target_template->SameCollection(*o.target_template));
    return same_template &&
           std::tie(namespaces, clusters, api_url, bearer_token_file, tls_ca_file, host_template,
                    port, interval, timeout) ==
               std::tie(o.namespaces, o.clusters, o.api_url, o.bearer_token_file, o.tls_ca_file,
                        o.host_template, o.port, o.interval, o.timeout);
  }
};

struct QueryFileConfig {
  std::string path;  // a path or glob, relative to the config file
  std::string metric_prefix = "pgdr_";
};

struct CollectionConfig {
  milliseconds interval{15000};          // collection period per target
  milliseconds statement_timeout{5000};  // server-side, every query
  milliseconds connect_timeout{5000};    // from start of connect to ready
  milliseconds target_deadline{10000};   // a whole cycle; at most interval
  milliseconds max_backoff{60000};       // cap of the reconnect backoff
  size_t max_series_per_query = 10000;   // label-explosion guard
  size_t max_databases = 32;             // per-database connections per member
  size_t statements_top_n = 20;          // queryid series per database (+ "other")

  bool operator==(const CollectionConfig&) const = default;
};

struct Config {
  std::string file;
  CollectionConfig collection;
  std::vector<QueryFileConfig> query_files;
  std::vector<QuerySpec> queries;  // loaded from query_files
  std::vector<TargetConfig> targets;
  std::vector<PgBouncerConfig> pgbouncers;
  std::vector<PatroniSourceConfig> patroni;  // `discovery: {patroni: [...]}`
  std::vector<CnpgSourceConfig> cnpg;        // `discovery: {cnpg: [...]}`
  std::vector<std::string> rule_files;       // resolved paths
  milliseconds evaluation_interval{15000};
  std::map<std::string, std::string> external_labels;
  // `leader_election:`; absent: this replica acts alone, as always.
  std::optional<LeaderElectionConfig> leader_election;
};

// The sections of one config file that other modules parse, for their
// parsers at load time only (see the file comment); a null node when absent.
struct OwnedSections {
  YamlReader reader{""};     // of the config file: errors name file:line:col
  YAML::Node backup_stores;  // a list (checked)
  YAML::Node alerting;
  YAML::Node actions;
  YAML::Node maintenance;
  YAML::Node drills;  // restore::ParseDrills
};

// Loads, validates and resolves a config file (query files are loaded too);
// the owned sections go to `sections` when it is non-null.
core::Result<Config> LoadConfig(const std::string& path, OwnedSections* sections = nullptr);

// The DSN with any password replaced by "xxxxx", safe for logs and HTTP.
std::string RedactedDsn(const std::string& dsn);

}  // namespace pgdr::config

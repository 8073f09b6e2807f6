// The `alerting:`, `actions:` and `maintenance:` sections of the exporter
// config, validated into plain data (unknown keys are errors naming
// file:line:col). See docs/actions.md for every key and its default.
//
//   alerting:            # notifiers
//     resend_delay: 1m
//     alertmanagers: [{url: http://127.0.0.1:9093}]
//     webhooks: [{name: ops, url: http://127.0.0.1:8080/hook}]
//   actions:
//     dry_run: true      # the default: decide, log and count, but act not
//     triggers:
//       - match: 'alertname="PostgresPrimaryMissing", cluster="prod"'
//         action: failover
//         provider: pg_promote
//         redirect: [pgbouncer-prod]
//     region_failover:   # a standby region's promotion (region.h)
//       - {cluster: prod, standby_region: eu-west, confirm_for: 1m, approval: manual}
//   maintenance:
//     windows: [{cluster: prod, cron: "0 2 * * SUN", duration: 2h}]
//
// Thread-safety: immutable after loading.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "pgdr/actions/alert.h"
#include "pgdr/actions/failover.h"
#include "pgdr/actions/maintenance.h"
#include "pgdr/actions/notifier.h"
#include "pgdr/actions/providers.h"
#include "pgdr/actions/region.h"
#include "pgdr/config/config.h"

namespace pgdr::actions {

struct Trigger {
  enum class Action { kFailover, kRedirect, kWebhook, kExec };
  std::string name;  // for logs; defaults to "<action>#<index>"
  std::vector<Matcher> match;
  Action action = Action::kFailover;
  bool dry_run = true;  // from the trigger, else actions.dry_run (default true)
  std::string cluster;  // empty: the alert's `cluster` label
  // failover
  std::string provider = "pg_promote";  // a name in the provider table (provider.h)
  FailoverPolicy policy;
  milliseconds timeout{30000};        // promote / command / HTTP, default 30s
  bool repoint_replicas = true;       // pg_promote: make the other replicas follow
  std::vector<std::string> redirect;  // poolers to repoint after a promotion
  // redirect
  std::vector<std::string> poolers;  // empty: every pooler of the cluster
  // exec (action or failover provider)
  std::vector<std::string> command;
  // webhook action, patroni and cnpg providers: URL, auth, CA, timeout
  ReceiverConfig http;
  std::string receiver;  // webhook action: its notifier receiver name
  // cnpg provider: the CloudNativePG Cluster resource
  std::string k8s_namespace;
  std::string cnpg_cluster;  // default: the pgdr cluster name
};

// One entry of actions.region_failover. `trigger` carries what the provider
// and the redirect need (provider, timeout, repoint_replicas, redirect,
// dry_run), named "region:<cluster>/<standby_region>".
struct RegionFailover {
  RegionPolicy policy;
  Trigger trigger;
};

struct ActionsConfig {
  NotifierConfig notifier;
  std::vector<Trigger> triggers;
  std::vector<RegionFailover> regions;
  std::vector<WindowConfig> windows;
  std::map<std::string, std::vector<PgEndpoint>> members;  // cluster -> members (config order)
  std::map<std::string, std::string> addresses;            // "cluster/member" -> "host:port"
  std::map<std::string, std::string> regions_of_members;   // "cluster/member" -> region
  std::map<std::string, PoolerEndpoint> poolers;           // by name
  std::map<std::string, std::string> pooler_cluster;       // pooler name -> cluster
  std::vector<std::string> clusters;
  // Clusters under Patroni (`discovery.patroni`) -> their members' REST APIs:
  // the guards leave them to Patroni unless it is paused or unreachable, and
  // the patroni provider falls back to these when the trigger's url fails.
  std::map<std::string, std::vector<std::string>> patroni_urls;
};

// Validates and resolves the sections (secrets are read from env/files now);
// `config` gives the targets, poolers and global settings they refer to.
core::Result<ActionsConfig> LoadActionsConfig(const config::Config& config,
                                              const config::OwnedSections& sections);

}  // namespace pgdr::actions

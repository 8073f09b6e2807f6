// Patroni's GET /cluster read as what pgdr acts on: its members (name,
// PostgreSQL host and port, role) become collection targets when the
// `discovery.patroni` entry has `targets:`, and its leader and pause flag
// are the manager state the failover guards consult (collect::ManagerState).
//
// Why pure functions: the poller does the I/O and the exporter the
// re-application; which targets a /cluster answer makes is tested alone.
//
// Thread-safety: pure functions over values.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pgdr/collect/snapshot.h"
#include "pgdr/config/config.h"

namespace pgdr::app {

struct PatroniMember {
  std::string name;
  std::string host;  // PostgreSQL's, from /cluster
  int port = 0;
  std::string role;  // leader, replica, sync_standby, standby_leader

  bool operator==(const PatroniMember&) const = default;
};

struct PatroniClusterView {
  bool paused = false;
  std::string leader;                  // empty: no member holds the leader key
  std::vector<PatroniMember> members;  // those with a name, host and port, by name
};

// Null when `body` is not Patroni's /cluster JSON (an object with `members`).
std::optional<PatroniClusterView> ParsePatroniCluster(const std::string& body);

// Discovered members of each cluster, by cluster.
using DiscoveredMembers = std::map<std::string, std::vector<PatroniMember>>;

// The targets `source` makes of `members` (none without `targets:`):
// its template with the member's name, and "host=... port=..." of /cluster
// put before the template's options.
std::vector<config::TargetConfig> DiscoveredTargets(const config::PatroniSourceConfig& source,
                                                    const std::vector<PatroniMember>& members);

// Adds every discovered target of `config`'s Patroni sources whose key is not
// already a configured (static) target, which keeps precedence.
void AddDiscoveredTargets(const DiscoveredMembers& discovered, config::Config& config);

}  // namespace pgdr::app

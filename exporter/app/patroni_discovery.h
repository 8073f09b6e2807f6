// Patroni's GET /cluster read as what pgdr acts on: its members (name,
// PostgreSQL host and port, role) become collection targets when the
// `discovery.patroni` entry has `targets:` (discovery.h), and its leader and
// pause flag are the manager state the failover guards consult
// (collect::ManagerState).
//
// Why a pure function: the poller does the I/O and the exporter the
// re-application; what a /cluster answer says is tested alone.
//
// Thread-safety: pure functions over values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "app/discovery.h"

namespace pgdr::app {

struct PatroniClusterView {
  bool paused = false;
  std::string leader;                     // empty: no member holds the leader key
  std::vector<DiscoveredMember> members;  // those with a name, host and port, by name
};

// Null when `body` is not Patroni's /cluster JSON (an object with `members`).
std::optional<PatroniClusterView> ParsePatroniCluster(const std::string& body);

}  // namespace pgdr::app

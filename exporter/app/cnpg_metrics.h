// CloudNativePG's view of its clusters, from the Kubernetes API's Cluster
// and Backup lists of one namespace, as pgdr_cnpg_* series; and the targets
// discovered from them (each instance's pod, the -rw and -ro services).
//
// Why a pure function of the bodies: the poller (cnpg_poller.h) does the
// I/O; this is the part whose values must match the objects, and it is
// tested alone. What the series mean: docs/metrics.md ("CloudNativePG").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pgdr/config/config.h"
#include "pgdr/core/metric_set.h"

namespace pgdr::app {

struct CnpgNamespaceAnswer {
  std::string ns;
  std::optional<std::string> clusters;  // GET .../clusters with status 200
  std::optional<std::string> backups;   // GET .../backups with status 200
};

// One target discovered from a Cluster: an instance (role primary or
// replica, from status.currentPrimary) or a service (role rw or ro).
struct CnpgTarget {
  std::string ns, cluster, member, role, address;  // address: "host:port"
  bool operator==(const CnpgTarget&) const = default;
};

// The targets of one namespace's Cluster list (config order of instances:
// status.instanceNames), filtered by source.clusters.
std::vector<CnpgTarget> CnpgTargets(const config::CnpgSourceConfig& source,
                                    const CnpgNamespaceAnswer& answer);

// Adds the series of one namespace's poll; a body that is not a list counts
// as the API being down for that namespace.
void AddCnpgMetrics(const config::CnpgSourceConfig& source, const CnpgNamespaceAnswer& answer,
                    core::MetricSet& out);

}  // namespace pgdr::app

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

#include "app/discovery.h"
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

// The instances of one namespace's Cluster list, filtered by
// source.clusters, in list order (each Cluster's in status.instanceNames
// order): `name` the pod, `cluster` the Cluster, `role` primary (the pod of
// status.currentPrimary) or replica, at host_template and port. These are
// the targets `targets:` makes (discovery.h). Null when the body is not a
// list (the API did not answer it).
std::optional<std::vector<DiscoveredMember>> CnpgInstances(const config::CnpgSourceConfig& source,
                                                           const CnpgNamespaceAnswer& answer);

// The targets of one namespace's Cluster list: CnpgInstances, each Cluster's
// followed by its -rw and -ro services.
std::vector<CnpgTarget> CnpgTargets(const config::CnpgSourceConfig& source,
                                    const CnpgNamespaceAnswer& answer);

// Adds the series of one namespace's poll; a body that is not a list counts
// as the API being down for that namespace.
void AddCnpgMetrics(const config::CnpgSourceConfig& source, const CnpgNamespaceAnswer& answer,
                    core::MetricSet& out);

}  // namespace pgdr::app

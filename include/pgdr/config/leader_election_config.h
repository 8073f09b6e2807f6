// `leader_election:` of pgdr.yml: how several exporter replicas agree that
// only one of them acts (leader/leader_election.h).
//
// Why it is plain data in config: every replica must read the same lease
// settings at load, and check-config must reject a lease that could not be
// renewed in time (ttl too short for renew_interval + timeout + margin) with
// file:line:col, before any replica runs with it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace pgdr::config {

// An etcd v3 lease, through etcd's JSON gateway (/v3/...).
struct EtcdLeaseConfig {
  std::vector<std::string> endpoints;              // http(s)://host:port, tried in order
  std::string key = "/pgdr/leader";                // the key the holder puts with its lease
  std::chrono::milliseconds ttl{15000};            // the lease's TTL
  std::chrono::milliseconds renew_interval{5000};  // keepalive period of the holder
  std::chrono::milliseconds retry_interval{2000};  // acquisition attempts of the others
  std::chrono::milliseconds timeout{2000};         // each request
  std::chrono::milliseconds fencing_margin{2000};  // the holder stops this early
  std::string where;                               // file:line:col of the section

  bool operator==(const EtcdLeaseConfig& o) const {
    return endpoints == o.endpoints && key == o.key && ttl == o.ttl &&
           renew_interval == o.renew_interval && retry_interval == o.retry_interval &&
           timeout == o.timeout && fencing_margin == o.fencing_margin;
  }
};

// A Kubernetes coordination.k8s.io/v1 Lease, through the API server
// (http/kubernetes.h): the holder's name is its spec.holderIdentity.
struct KubernetesLeaseConfig {
  std::string namespace_name;  // `namespace`: where the Lease is (required)
  std::string name;            // the Lease's name (required)
  // The API server; empty fields take the pod's (http::InClusterDefaults).
  std::string api_url, bearer_token_file, tls_ca_file;
  std::chrono::milliseconds ttl{15000};  // leaseDurationSeconds (whole seconds)
  std::chrono::milliseconds renew_interval{5000};
  std::chrono::milliseconds retry_interval{2000};
  std::chrono::milliseconds timeout{2000};
  std::chrono::milliseconds fencing_margin{2000};
  std::string where;

  bool operator==(const KubernetesLeaseConfig& o) const {
    return namespace_name == o.namespace_name && name == o.name && api_url == o.api_url &&
           bearer_token_file == o.bearer_token_file && tls_ca_file == o.tls_ca_file &&
           ttl == o.ttl && renew_interval == o.renew_interval &&
           retry_interval == o.retry_interval && timeout == o.timeout &&
           fencing_margin == o.fencing_margin;
  }
};

// Which store holds the lease: exactly one of `etcd:` and `kubernetes:`.
enum class LeaseStore { kEtcd, kKubernetes };

struct LeaderElectionConfig {
  // The holder's name in the lease and in pgdr_leader{identity}; default:
  // "<hostname>-<pid>" (unique per process, so a restarted replica waits
  // out its previous lease like any other).
  std::string identity;
  LeaseStore store = LeaseStore::kEtcd;
  EtcdLeaseConfig etcd;              // with kEtcd
  KubernetesLeaseConfig kubernetes;  // with kKubernetes
  std::string where;

  bool operator==(const LeaderElectionConfig& o) const {
    return identity == o.identity && store == o.store && etcd == o.etcd &&
           kubernetes == o.kubernetes;
  }
};

}  // namespace pgdr::config

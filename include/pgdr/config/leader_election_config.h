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

struct LeaderElectionConfig {
  // The holder's name in the lease and in pgdr_leader{identity}; default:
  // "<hostname>-<pid>" (unique per process, so a restarted replica waits
  // out its previous lease like any other).
  std::string identity;
  EtcdLeaseConfig etcd;  // the one backend today (a Kubernetes Lease later)
  std::string where;

  bool operator==(const LeaderElectionConfig& o) const {
    return identity == o.identity && etcd == o.etcd;
  }
};

}  // namespace pgdr::config

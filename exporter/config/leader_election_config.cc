#include <unistd.h>

#include <cstdio>
#include <string>

#include "config/leader_election_parse.h"

namespace pgdr::config {

namespace {

std::string DefaultIdentity() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0')
    std::snprintf(host, sizeof host, "pgdr");
  return std::string(host) + "-" + std::to_string(getpid());
}

// The lease timing shared by both stores, checked as one: a keepalive sent
// at the end of a renew interval, answered at its timeout, must still find
// the holder inside its lease minus the margin; otherwise a healthy holder
// would fence itself between two renewals.
struct Timing {
  std::chrono::milliseconds& ttl;
  std::chrono::milliseconds& renew_interval;
  std::chrono::milliseconds& retry_interval;
  std::chrono::milliseconds& timeout;
  std::chrono::milliseconds& fencing_margin;
};

void ParseTiming(const YamlReader& r, const YAML::Node& n, const std::string& section, Timing t) {
  t.ttl = r.DurationOr(n, "ttl", t.ttl);
  if (t.ttl < std::chrono::seconds(2)) r.Fail(n["ttl"], "ttl must be at least 2s");
  t.renew_interval = r.DurationOr(n, "renew_interval", t.ttl / 3);
  t.retry_interval = r.DurationOr(n, "retry_interval", t.retry_interval);
  t.timeout = r.DurationOr(n, "timeout", t.timeout);
  t.fencing_margin = r.DurationOr(n, "fencing_margin", t.fencing_margin);
  for (const auto& [key, value] :
       {std::pair{"renew_interval", t.renew_interval},
        std::pair{"retry_interval", t.retry_interval}, std::pair{"timeout", t.timeout},
        std::pair{"fencing_margin", t.fencing_margin}}) {
    if (value.count() <= 0) r.Fail(n[key] ? n[key] : n, std::string(key) + " must be positive");
  }
  if (t.renew_interval + t.timeout + t.fencing_margin >= t.ttl) {
    r.Fail(n, section + ": renew_interval (" + FormatDuration(t.renew_interval) + ") + timeout (" +
                  FormatDuration(t.timeout) + ") + fencing_margin (" +
                  FormatDuration(t.fencing_margin) + ") must be less than ttl (" +
                  FormatDuration(t.ttl) + ")");
  }
}

EtcdLeaseConfig ParseEtcd(const YamlReader& r, const YAML::Node& n) {
  r.CheckKeys(
      n,
      {"endpoints", "key", "ttl", "renew_interval", "retry_interval", "timeout", "fencing_margin"},
      "leader_election.etcd");
  EtcdLeaseConfig e;
  e.where = r.Where(n);
  e.endpoints = r.StringList(n, "endpoints");
  if (e.endpoints.empty()) r.Fail(n, "leader_election.etcd needs at least one endpoint");
  for (auto& url : e.endpoints) {
    if (!url.starts_with("http://") && !url.starts_with("https://")) {
      r.Fail(n["endpoints"], "an etcd endpoint starts with http:// or https://");
    }
    while (url.ends_with("/")) url.pop_back();
  }
  e.key = r.StringOr(n, "key", e.key);
  if (e.key.empty()) r.Fail(n["key"], "leader_election.etcd.key must not be empty");
  ParseTiming(r, n, "leader_election.etcd",
              {e.ttl, e.renew_interval, e.retry_interval, e.timeout, e.fencing_margin});
  return e;
}

// A Kubernetes object name (RFC 1123 subdomain; a namespace is a label).
bool IsDnsName(const std::string& s, size_t max, bool dots) {
  if (s.empty() || s.size() > max) return false;
  for (char ch : s) {
    const bool ok =
        (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || (dots && ch == '.');
    if (!ok) return false;
  }
  auto alnum = [](char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'); };
  return alnum(s.front()) && alnum(s.back());
}

KubernetesLeaseConfig ParseKubernetes(const YamlReader& r, const YAML::Node& n) {
  r.CheckKeys(n,
              {"namespace", "name", "api_url", "bearer_token_file", "tls_ca_file", "ttl",
               "renew_interval", "retry_interval", "timeout", "fencing_margin"},
              "leader_election.kubernetes");
  KubernetesLeaseConfig k;
  k.where = r.Where(n);
  k.namespace_name = r.StringOr(n, "namespace", "");
  if (!IsDnsName(k.namespace_name, 63, false)) {
    r.Fail(n["namespace"] ? n["namespace"] : n,
           "leader_election.kubernetes.namespace: a namespace name is required (lowercase "
           "letters, digits and '-', at most 63)");
  }
  k.name = r.StringOr(n, "name", "");
  if (!IsDnsName(k.name, 253, true)) {
    r.Fail(n["name"] ? n["name"] : n,
           "leader_election.kubernetes.name: a Lease name is required (lowercase letters, "
           "digits, '-' and '.', at most 253)");
  }
  k.api_url = r.StringOr(n, "api_url", "");
  if (!k.api_url.empty() && !k.api_url.starts_with("https://") &&
      !k.api_url.starts_with("http://")) {
    r.Fail(n["api_url"], "api_url starts with https:// (or http://)");
  }
  k.bearer_token_file = r.StringOr(n, "bearer_token_file", "");
  k.tls_ca_file = r.StringOr(n, "tls_ca_file", "");
  ParseTiming(r, n, "leader_election.kubernetes",
              {k.ttl, k.renew_interval, k.retry_interval, k.timeout, k.fencing_margin});
  if (k.ttl.count() % 1000 != 0) {
    r.Fail(n["ttl"], "leader_election.kubernetes.ttl must be whole seconds (leaseDurationSeconds)");
  }
  return k;
}

}  // namespace

LeaderElectionConfig ParseLeaderElection(const YamlReader& r, const YAML::Node& n) {
  r.CheckKeys(n, {"identity", "etcd", "kubernetes"}, "leader_election");
  LeaderElectionConfig c;
  c.where = r.Where(n);
  c.identity = r.StringOr(n, "identity", DefaultIdentity());
  if (c.identity.empty()) r.Fail(n["identity"], "leader_election.identity must not be empty");
  const YAML::Node etcd = n["etcd"];
  const YAML::Node kubernetes = n["kubernetes"];
  if (!etcd && !kubernetes) r.Fail(n, "leader_election needs a backend: etcd or kubernetes");
  if (etcd && kubernetes) r.Fail(kubernetes, "leader_election: etcd or kubernetes, not both");
  if (etcd) {
    c.store = LeaseStore::kEtcd;
    c.etcd = ParseEtcd(r, etcd);
  } else {
    c.store = LeaseStore::kKubernetes;
    c.kubernetes = ParseKubernetes(r, kubernetes);
  }
  return c;
}

}  // namespace pgdr::config

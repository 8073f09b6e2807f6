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
  e.ttl = r.DurationOr(n, "ttl", e.ttl);
  if (e.ttl < std::chrono::seconds(2)) r.Fail(n["ttl"], "ttl must be at least 2s");
  e.renew_interval = r.DurationOr(n, "renew_interval", e.ttl / 3);
  e.retry_interval = r.DurationOr(n, "retry_interval", e.retry_interval);
  e.timeout = r.DurationOr(n, "timeout", e.timeout);
  e.fencing_margin = r.DurationOr(n, "fencing_margin", e.fencing_margin);
  for (const auto& [key, value] :
       {std::pair{"renew_interval", e.renew_interval},
        std::pair{"retry_interval", e.retry_interval}, std::pair{"timeout", e.timeout},
        std::pair{"fencing_margin", e.fencing_margin}}) {
    if (value.count() <= 0) r.Fail(n[key] ? n[key] : n, std::string(key) + " must be positive");
  }
  // A keepalive sent at the end of a renew interval, answered at its
  // timeout, must still find the holder inside its lease minus the margin:
  // otherwise a healthy holder would fence itself between two renewals.
  if (e.renew_interval + e.timeout + e.fencing_margin >= e.ttl) {
    r.Fail(n, "leader_election.etcd: renew_interval (" + FormatDuration(e.renew_interval) +
                  ") + timeout (" + FormatDuration(e.timeout) + ") + fencing_margin (" +
                  FormatDuration(e.fencing_margin) + ") must be less than ttl (" +
                  FormatDuration(e.ttl) + ")");
  }
  return e;
}

}  // namespace

LeaderElectionConfig ParseLeaderElection(const YamlReader& r, const YAML::Node& n) {
  r.CheckKeys(n, {"identity", "etcd"}, "leader_election");
  LeaderElectionConfig c;
  c.where = r.Where(n);
  c.identity = r.StringOr(n, "identity", DefaultIdentity());
  if (c.identity.empty()) r.Fail(n["identity"], "leader_election.identity must not be empty");
  const YAML::Node etcd = n["etcd"];
  if (!etcd) r.Fail(n, "leader_election needs a backend: etcd");
  c.etcd = ParseEtcd(r, etcd);
  return c;
}

}  // namespace pgdr::config

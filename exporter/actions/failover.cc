#include "pgdr/actions/failover.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdio>

#include "pgdr/config/yaml_reader.h"

namespace pgdr::actions {

std::vector<MemberView> ClusterMembers(const collect::Snapshot& snapshot,
                                       const std::string& cluster,
                                       const std::map<std::string, std::string>& addresses) {
  std::vector<MemberView> out;
  for (const auto& t : snapshot.targets) {
    if (!t || t->cluster != cluster) continue;
    const auto it = addresses.find(t->member);
    if (it == addresses.end()) continue;  // not a PostgreSQL target (e.g. a pooler)
    MemberView m;
    m.member = t->member;
    m.address = it->second;
    m.region = t->region;
    m.up = t->facts.up;
    m.in_recovery = t->facts.in_recovery;
    m.lsn_bytes = t->facts.lsn_bytes;
    m.receive_lsn_bytes = t->facts.receive_lsn_bytes;
    m.streaming = t->facts.wal_receiver_streaming;
    m.sender = t->facts.wal_receiver_sender;
    out.push_back(std::move(m));
  }
  return out;
}

namespace {

bool IsPrimary(const MemberView& m) { return m.up && m.in_recovery == false; }
bool IsReplica(const MemberView& m) { return m.up && m.in_recovery == true; }

// Whether a reachable replica has lost the primary: it has no WAL receiver
// (the probe of an up member reads pg_stat_wal_receiver; no row is absent),
// its receiver is not streaming, or it streams from another member that is
// itself a replica.
bool LostPrimary(const MemberView& r, const std::vector<MemberView>& members) {
  if (!r.streaming.value_or(false)) return true;
  if (!r.sender || r.sender->empty()) return false;
  for (const auto& m : members) {
    if (&m != &r && !m.address.empty() && m.address == *r.sender && IsReplica(m)) return true;
  }
  return false;
}

double Position(const MemberView& m) {
  return std::max(m.lsn_bytes.value_or(0), m.receive_lsn_bytes.value_or(0));
}

std::string Seconds(std::chrono::milliseconds d) { return config::FormatDuration(d); }

}  // namespace

void ClusterTracker::Observe(const std::vector<MemberView>& members,
                             const collect::PrimaryPosition* primary, TimePoint at) {
  if (primary != nullptr) {
    last_primary = primary->member;
    last_primary_lsn = primary->lsn_bytes;
    last_primary_seen = primary->seen_at;
  }
  if (std::any_of(members.begin(), members.end(), IsPrimary)) {
    lost_since.reset();
    return;
  }
  bool any_replica = false, all_lost = true;
  for (const auto& m : members) {
    if (!IsReplica(m)) continue;
    any_replica = true;
    if (!LostPrimary(m, members)) all_lost = false;
  }
  if (any_replica && all_lost) {
    if (!lost_since) lost_since = at;
  } else {
    lost_since.reset();
  }
}

FailoverDecision DecideFailover(const std::vector<MemberView>& members,
                                const ClusterTracker& tracker, const FailoverPolicy& policy,
                                bool maintenance_active, TimePoint now,
                                const collect::ManagerState* manager) {
  FailoverDecision d;
  d.old_primary = tracker.last_primary;
  auto refuse = [&d](std::string reason, std::string detail) {
    d.promote = false;
    d.reason = std::move(reason);
    d.detail = std::move(detail);
    return d;
  };
  if (maintenance_active) {
    return refuse("maintenance", "a maintenance window is active for the cluster");
  }
  if (tracker.last_failover && now < *tracker.last_failover + policy.cooldown) {
    return refuse("cooldown", "a failover was started at " + FormatRfc3339(*tracker.last_failover) +
                                  ", within the cooldown of " + Seconds(policy.cooldown));
  }
  std::vector<std::string> primaries;
  for (const auto& m : members) {
    if (IsPrimary(m)) primaries.push_back(m.member);
  }
  if (primaries.size() > 1) {
    std::string names;
    for (const auto& p : primaries) names += (names.empty() ? "" : ", ") + p;
    return refuse("split_brain", "several members answer as primary: " + names);
  }
  if (primaries.size() == 1) {
    return refuse("primary_reachable", "member " + primaries[0] + " answers as primary");
  }
  if (manager != nullptr) {
    if (!manager->polled) {
      return refuse(manager->manager + "_unknown",
                    manager->manager + " manages the cluster and has not been polled yet");
    }
    if (manager->answered && !manager->paused) {
      return refuse(manager->manager + "_manages",
                    manager->manager + " answers and is not paused (" +
                        (manager->leader.empty() ? std::string("an election is in progress")
                                                 : "leader " + manager->leader) +
                        "): the failover is its to make");
    }
  }
  const MemberView* best = nullptr;
  for (const auto& m : members) {
    if (!IsReplica(m)) continue;
    if (!LostPrimary(m, members)) {
      return refuse(
          "replica_streaming",
          "replica " + m.member + " still streams from the primary: the exporter alone lost it");
    }
    if (!m.lsn_bytes && !m.receive_lsn_bytes) continue;
    if (!best || Position(m) > Position(*best) ||
        (Position(m) == Position(*best) && m.member < best->member)) {
      best = &m;
    }
  }
  if (!best) return refuse("no_replica", "no reachable replica with a known LSN");
  if (!tracker.lost_since || now < *tracker.lost_since + policy.confirm_for) {
    return refuse("not_confirmed", "the replicas have not confirmed the primary's loss for " +
                                       Seconds(policy.confirm_for) + " yet");
  }
  d.candidate = best->member;
  d.candidate_address = best->address;
  d.candidate_lsn = Position(*best);
  d.primary_lsn = tracker.last_primary_lsn;
  d.primary_seen = tracker.last_primary_seen;
  if (!tracker.last_primary_lsn) {
    return refuse("unknown_primary_lsn",
                  "the exporter never saw the primary's LSN: the candidate's lag is unknown");
  }
  d.lag_bytes = std::max(0.0, *tracker.last_primary_lsn - d.candidate_lsn);
  if (d.lag_bytes > policy.max_lag_bytes) {
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "candidate %s lags the last primary LSN by %.0f bytes (max %.0f)",
                  best->member.c_str(), d.lag_bytes, policy.max_lag_bytes);
    return refuse("lag_exceeded", buf);
  }
  d.promote = true;
  d.reason = "guards_passed";
  d.detail = "primary " + (d.old_primary.empty() ? std::string("(unknown)") : d.old_primary) +
             " lost; promoting " + d.candidate;
  return d;
}

std::string DsnAddress(const std::string& dsn) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), &err);
  if (err) PQfreemem(err);
  if (!opts) return "";
  std::string host, hostaddr, port;
  for (auto* o = opts; o->keyword; ++o) {
    if (!o->val) continue;
    const std::string k = o->keyword;
    if (k == "host") host = o->val;
    if (k == "hostaddr") hostaddr = o->val;
    if (k == "port") port = o->val;
  }
  PQconninfoFree(opts);
  if (host.empty()) host = hostaddr;
  if (host.empty()) host = "localhost";
  if (port.empty()) port = "5432";
  if (host.find(',') != std::string::npos || port.find(',') != std::string::npos) return "";
  return host + ":" + port;
}

}  // namespace pgdr::actions

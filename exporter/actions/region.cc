#include "pgdr/actions/region.h"

#include <algorithm>
#include <cstdio>

#include "pgdr/config/yaml_reader.h"

namespace pgdr::actions {

namespace {

bool IsStandby(const MemberView& m, const std::string& region) {
  return m.up && m.in_recovery == true && m.region == region;
}

double Position(const MemberView& m) {
  return std::max(m.lsn_bytes.value_or(0), m.receive_lsn_bytes.value_or(0));
}

// Whether the member streams from a member outside the standby region (or
// from an address pgdr does not know, which is assumed to be upstream).
bool StreamsFromOutside(const MemberView& m, const std::vector<MemberView>& members) {
  if (!m.streaming.value_or(false)) return false;
  if (!m.sender || m.sender->empty()) return true;
  for (const auto& other : members) {
    if (&other != &m && other.address == *m.sender) return other.region != m.region;
  }
  return true;
}

std::string Bytes(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

}  // namespace

void RegionTracker::Observe(const std::vector<MemberView>& members,
                            const collect::PrimaryPosition* primary,
                            const std::string& standby_region, TimePoint at) {
  if (primary != nullptr) {
    last_primary = primary->member;
    last_primary_lsn = primary->lsn_bytes;
    last_primary_seen = primary->seen_at;
    if (!primary->region.empty()) primary_region = primary->region;
  }
  bool any = false, all_down = true;
  for (const auto& m : members) {
    if (primary_region.empty() || m.region != primary_region) continue;
    any = true;
    if (m.up) all_down = false;
  }
  if (any && all_down) {
    if (!primary_region_down_since) primary_region_down_since = at;
  } else {
    primary_region_down_since.reset();
  }
  std::map<std::string, Progress> next;
  for (const auto& m : members) {
    if (!IsStandby(m, standby_region)) continue;
    const double pos = Position(m);
    const auto it = standby.find(m.member);
    if (it != standby.end() && pos <= it->second.position) {
      next[m.member] = it->second;
    } else {
      next[m.member] = {pos, at};
    }
  }
  standby = std::move(next);
}

RegionDecision DecideRegion(const std::vector<MemberView>& members, const RegionTracker& tracker,
                            const RegionPolicy& policy, bool maintenance_active, TimePoint now) {
  RegionDecision d;
  d.old_primary = tracker.last_primary;
  d.primary_region = tracker.primary_region;
  d.primary_lsn = tracker.last_primary_lsn;
  d.primary_seen = tracker.last_primary_seen;
  d.primary_region_down_since = tracker.primary_region_down_since;
  auto refuse = [&d](std::string reason, std::string detail) {
    d.promote = false;
    d.reason = std::move(reason);
    d.detail = std::move(detail);
    return d;
  };
  for (const auto& m : members) {
    if (m.up && m.in_recovery == false) {
      return refuse("healthy", "member " + m.member + " answers as primary");
    }
  }
  if (maintenance_active) {
    return refuse("maintenance", "a maintenance window is active for the cluster");
  }
  if (tracker.last_promotion && now < *tracker.last_promotion + policy.cooldown) {
    return refuse("cooldown",
                  "a regional promotion was started at " + FormatRfc3339(*tracker.last_promotion) +
                      ", within the cooldown of " + config::FormatDuration(policy.cooldown));
  }
  if (tracker.primary_region.empty()) {
    return refuse("unknown_primary_region",
                  "pgdr never saw a primary with a region: the primary region is unknown");
  }
  if (tracker.primary_region == policy.standby_region) {
    return refuse("unknown_primary_region",
                  "the last primary was in the standby region " + policy.standby_region);
  }
  std::string answering;
  for (const auto& m : members) {
    if (m.region == tracker.primary_region && m.up) {
      answering += (answering.empty() ? "" : ", ") + m.member;
    }
  }
  if (!answering.empty()) {
    return refuse("primary_region_reachable", "member(s) " + answering + " of primary region " +
                                                  tracker.primary_region +
                                                  " still answer: the region is not lost");
  }
  if (!tracker.primary_region_down_since ||
      now < *tracker.primary_region_down_since + policy.confirm_for) {
    return refuse("not_confirmed", "primary region " + tracker.primary_region +
                                       " has not been unreachable for " +
                                       config::FormatDuration(policy.confirm_for) + " yet");
  }
  const MemberView* best = nullptr;
  for (const auto& m : members) {
    if (!IsStandby(m, policy.standby_region)) continue;
    if (StreamsFromOutside(m, members)) {
      return refuse("standby_receiving", "standby " + m.member + " still streams from " +
                                             m.sender.value_or("its upstream") +
                                             ": the exporter alone lost the primary region");
    }
    const auto it = tracker.standby.find(m.member);
    if (it == tracker.standby.end() || now < it->second.advanced_at + policy.confirm_for) {
      return refuse("standby_receiving",
                    "standby " + m.member + " advanced within the last " +
                        config::FormatDuration(policy.confirm_for) +
                        " (it still receives WAL): the exporter alone lost the primary region");
    }
    if (!m.lsn_bytes && !m.receive_lsn_bytes) continue;
    if (!best || Position(m) > Position(*best) ||
        (Position(m) == Position(*best) && m.member < best->member)) {
      best = &m;
    }
  }
  if (!best) {
    return refuse("no_standby", "no reachable member of standby region " + policy.standby_region +
                                    " with a known LSN");
  }
  d.candidate = best->member;
  d.candidate_address = best->address;
  d.candidate_lsn = Position(*best);
  if (!tracker.last_primary_lsn) {
    return refuse("unknown_primary_lsn", "pgdr never saw the primary's LSN: the RPO is unknown");
  }
  d.rpo_bytes = std::max(0.0, *tracker.last_primary_lsn - d.candidate_lsn);
  if (d.rpo_bytes > policy.max_rpo_bytes) {
    return refuse("rpo_exceeded", "promoting " + best->member + " would lose " +
                                      Bytes(d.rpo_bytes) + " bytes of WAL (max_rpo_bytes " +
                                      Bytes(policy.max_rpo_bytes) + ")");
  }
  d.promote = true;
  d.reason = "guards_passed";
  d.detail = "primary region " + tracker.primary_region + " lost; promoting " + d.candidate +
             " of " + policy.standby_region + " loses " + Bytes(d.rpo_bytes) + " bytes of WAL";
  return d;
}

FailoverDecision AsFailoverDecision(const RegionDecision& d) {
  FailoverDecision f;
  f.promote = d.promote;
  f.reason = d.reason;
  f.detail = d.detail;
  f.candidate = d.candidate;
  f.candidate_address = d.candidate_address;
  f.candidate_lsn = d.candidate_lsn;
  f.lag_bytes = d.rpo_bytes;
  f.old_primary = d.old_primary;
  f.primary_lsn = d.primary_lsn;
  f.primary_seen = d.primary_seen;
  return f;
}

}  // namespace pgdr::actions

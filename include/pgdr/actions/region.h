// Regional promotion guards: whether promoting a cluster's standby region
// (members in another region that follow the primary region by streaming or
// from the WAL archive only) is safe, decided from the exporter's snapshots
// alone and unit-testable on synthetic ones.
//
// Why separate from the node failover guards (failover.h): a regional
// disaster takes every member of the primary region, so "the replicas lost
// the primary" is no evidence there (they are gone too); the evidence is that
// the standby region stopped receiving WAL. A promotion is allowed only when
// all of these hold:
//   - no member of the cluster answers as primary (else: nothing to do, no
//     decision at all), no maintenance window, the cooldown has passed;
//   - every member of the primary region (the region of the last primary
//     pgdr saw) is unreachable from the exporter; one that still answers
//     means the region is not lost (split-brain guard);
//   - the primary region has been unreachable for `confirm_for`, and every
//     reachable standby-region member lost its upstream: it does not stream
//     from outside the standby region, and its position has not advanced for
//     `confirm_for` either (WAL receiver down, or the archive it restores
//     from not advancing; confirm_for must exceed archive_timeout). A partition that isolates only
//     the exporter from the primary region therefore never promotes: the standby keeps advancing;
//   - the candidate, the standby-region member with the most WAL, would lose
//     at most `max_rpo_bytes` (the last primary LSN pgdr saw minus its
//     position: the figure pgdr_rpo_bytes{scope="region"} shows).
//
// Thread-safety: RegionTracker is not synchronised; the ActionEngine owns one
// per configured standby region and uses it under its own lock.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pgdr/actions/alert.h"
#include "pgdr/actions/failover.h"
#include "pgdr/collect/snapshot.h"

namespace pgdr::actions {

// actions.region_failover[] (docs/actions.md).
struct RegionPolicy {
  std::string cluster;
  std::string standby_region;
  std::chrono::milliseconds confirm_for{std::chrono::seconds(60)};  // default 60s
  double max_rpo_bytes = 16.0 * 1024 * 1024;                        // default 16 MiB
  bool manual_approval = true;                                      // approval: manual (default)
  std::chrono::milliseconds cooldown{std::chrono::minutes(30)};     // default 30m
};

struct RegionTracker {
  // Feeds one snapshot: the cluster's members and its primary position
  // (Snapshot::primaries; nullptr when pgdr never saw a primary).
  void Observe(const std::vector<MemberView>& members, const collect::PrimaryPosition* primary,
               const std::string& standby_region, TimePoint at);

  std::string primary_region;  // the region of the last primary pgdr saw
  std::string last_primary;
  std::optional<double> last_primary_lsn;
  std::optional<TimePoint> last_primary_seen;
  std::optional<TimePoint> primary_region_down_since;  // every member unreachable, since
  struct Progress {
    double position = 0;  // max(replay, receive) LSN
    TimePoint advanced_at{};
  };
  std::map<std::string, Progress> standby;  // standby-region member -> its progress
  std::optional<TimePoint> last_promotion;  // the last regional promotion started
};

struct RegionDecision {
  bool promote = false;
  // healthy (a member answers as primary: no decision), maintenance,
  // cooldown, unknown_primary_region, primary_region_reachable,
  // not_confirmed, standby_receiving, no_standby, unknown_primary_lsn,
  // rpo_exceeded; "guards_passed" when allowed.
  std::string reason;
  std::string detail;  // one human sentence
  std::string candidate;
  std::string candidate_address;
  double candidate_lsn = 0;
  double rpo_bytes = 0;  // last primary LSN - candidate_lsn
  std::string old_primary;
  std::string primary_region;
  std::optional<double> primary_lsn;
  std::optional<TimePoint> primary_seen;
  std::optional<TimePoint> primary_region_down_since;
};

// REQUIRES: `tracker` has observed `members` (the latest snapshot).
RegionDecision DecideRegion(const std::vector<MemberView>& members, const RegionTracker& tracker,
                            const RegionPolicy& policy, bool maintenance_active, TimePoint now);

// The decision as the node failover providers take it (provider.h).
FailoverDecision AsFailoverDecision(const RegionDecision& d);

}  // namespace pgdr::actions

// Failover guards: the decision whether promoting a replica of a cluster is
// safe, made from the exporter's snapshots alone and unit-testable on
// synthetic ones.
//
// A promotion is allowed only when all of these hold (docs/actions.md):
//   - no maintenance window is active and the cluster's cooldown has passed;
//   - no member answers as primary (split-brain guard: a reachable primary,
//     or two, means there is nothing to fail over);
//   - the primary is unreachable from the exporter *and* every reachable
//     replica's WAL receiver has lost it, continuously for `confirm_for`
//     (no WAL receiver, one not streaming, or one streaming from another
//     replica all count as having lost it).
//     A partition between the exporter and the primary alone therefore
//     never promotes: the replicas still stream;
//   - no HA manager owns the cluster: with `discovery.patroni`, Patroni's
//     latest poll must show it unreachable (no member API answered
//     /cluster) or paused; while it answers and is not paused, a failover
//     is Patroni's to make (reason `patroni_manages`), and before its first
//     poll pgdr cannot tell (`patroni_unknown`);
//   - the candidate, the reachable replica with the most WAL (the highest of
//     replay and receive LSN: promotion replays everything received), lags
//     the last primary LSN the exporter saw by at most `max_lag_bytes`.
//
// Thread-safety: ClusterTracker is not synchronised; the ActionEngine owns
// one per cluster and uses it under its own lock.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pgdr/actions/alert.h"
#include "pgdr/collect/snapshot.h"

namespace pgdr::actions {

// One member of a cluster as the guards see it.
struct MemberView {
  std::string member;
  std::string address;  // "host:port" of its target DSN; empty when unknown
  std::string region;   // its target's `region`; empty when none
  bool up = false;
  std::optional<bool> in_recovery;
  std::optional<double> lsn_bytes;          // replay LSN on a replica
  std::optional<double> receive_lsn_bytes;  // replica: last WAL received
  std::optional<bool> streaming;            // WAL receiver streaming; absent: no receiver
  std::optional<std::string> sender;        // "host:port" it streams from
};

// The members of `cluster` in `snapshot` that are PostgreSQL targets:
// `addresses` maps each configured member to its "host:port"; other results
// of the cluster (a PgBouncer's) are left out.
std::vector<MemberView> ClusterMembers(const collect::Snapshot& snapshot,
                                       const std::string& cluster,
                                       const std::map<std::string, std::string>& addresses);

struct FailoverPolicy {
  std::chrono::milliseconds confirm_for{std::chrono::seconds(30)};  // default 30s
  double max_lag_bytes = 16.0 * 1024 * 1024;                        // default 16 MiB
  std::chrono::milliseconds cooldown{std::chrono::minutes(10)};     // default 10m
};

// What the guards remember about one cluster between snapshots.
struct ClusterTracker {
  // Feeds one observation: a snapshot's members at its composition time and
  // the snapshot's primary position of the cluster (Snapshot::primaries;
  // nullptr when pgdr never saw a primary). The guards measure a
  // candidate's loss from that position, the one pgdr_rpo_* and the replica
  // lag are computed from, so the decision and the figures agree.
  void Observe(const std::vector<MemberView>& members, const collect::PrimaryPosition* primary,
               TimePoint at);

  std::string last_primary;                    // the last member seen answering as primary
  std::optional<double> last_primary_lsn;      // its LSN then
  std::optional<TimePoint> last_primary_seen;  // when that LSN was collected
  std::optional<TimePoint> lost_since;         // primary down and every replica lost it, since
  // When the last promotion was decided, set once its provider is called:
  // a dry run, or a failover dropped before it ran, starts no cooldown.
  std::optional<TimePoint> last_failover;
};

struct FailoverDecision {
  bool promote = false;
  // Machine-readable reason when refused: maintenance, cooldown,
  // primary_reachable, split_brain, no_replica, replica_streaming,
  // not_confirmed, unknown_primary_lsn, lag_exceeded, patroni_manages,
  // patroni_unknown; "guards_passed" when allowed.
  std::string reason;
  std::string detail;  // one human sentence
  std::string candidate;
  std::string candidate_address;
  double candidate_lsn = 0;
  double lag_bytes = 0;  // the candidate's loss: last primary LSN - candidate_lsn
  std::string old_primary;
  std::optional<double> primary_lsn;      // the position lag_bytes is measured from
  std::optional<TimePoint> primary_seen;  // and when pgdr saw it
};

// REQUIRES: `tracker` has observed `members` (the latest snapshot).
// `manager`: the cluster's HA manager in that snapshot; null when none is
// configured for it.
FailoverDecision DecideFailover(const std::vector<MemberView>& members,
                                const ClusterTracker& tracker, const FailoverPolicy& policy,
                                bool maintenance_active, TimePoint now,
                                const collect::ManagerState* manager = nullptr);

// "host:port" of a libpq DSN (URI or key=value; port 5432 when absent); empty
// when the DSN does not parse or names several hosts.
std::string DsnAddress(const std::string& dsn);

}  // namespace pgdr::actions

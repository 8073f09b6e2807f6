// Snapshot: what /metrics serves, composed off the request path.
//
// The composer merges the latest result of every target, the object-store
// polls and the exporter's own metrics, adds the cross-member metrics (lag
// against the cluster's primary, RPO), and writes the text exposition once.
// Scrapes then copy a string: they never touch a database, and ten
// Prometheus replicas cost the databases nothing extra. A SnapshotComposer
// serialises each target result and store poll only once (see exposition.h),
// so a composition costs the changed sources plus a concatenation.
//
// Thread-safety: a Snapshot is immutable; SnapshotStore is safe from any
// thread; a SnapshotComposer belongs to one thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pgdr/collect/exposition.h"
#include "pgdr/collect/target_result.h"
#include "pgdr/core/metric_set.h"
#include "pgdr/core/mutex.h"

namespace pgdr::collect {

// The newest WAL position known to be safe in a cluster's archive.
struct ArchivePosition {
  std::string cluster;
  std::string store;
  bool up = false;
  std::optional<double> newest_lsn_bytes;
  std::optional<double> newest_segment_timestamp_seconds;
};

// The primary position a cluster's cross-member figures (replica lag bytes,
// pgdr_rpo_*) are computed from. While a member answers as primary it is
// that member's (`live`); once none does, it is the last one pgdr saw, so
// that the figures an on-call engineer needs when the primary has died
// (what would a promotion lose?) do not vanish with it.
struct PrimaryPosition {
  std::string member;
  double lsn_bytes = 0;
  std::chrono::system_clock::time_point seen_at;  // collection time of that LSN
  bool live = false;
  std::string region;  // the member's `region`; empty when it has none
};
using PrimaryPositions = std::map<std::string, PrimaryPosition>;  // by cluster

// What the HA manager of a cluster (Patroni, with `discovery.patroni`) said
// in its latest poll. The failover guards leave a cluster whose manager is
// healthy and not paused to it: two systems promoting one cluster is how a
// split brain starts.
struct ManagerState {
  std::string manager;    // "patroni"
  bool polled = false;    // false until the first poll ended
  bool answered = false;  // some member's API answered GET /cluster
  bool paused = false;    // automatic failover off (`patronictl pause`)
  std::string leader;     // the member holding the leader key; empty: none (an election)
  std::chrono::system_clock::time_point polled_at;
};
using ManagerStates = std::map<std::string, ManagerState>;  // by cluster

struct Snapshot {
  std::string text;                                          // Prometheus text format 0.0.4
  std::vector<std::shared_ptr<const TargetResult>> targets;  // sorted by key
  std::vector<prometheus::MetricFamily> computed;  // cross-member metrics of this snapshot
  PrimaryPositions primaries;                      // the positions `computed` was derived from
  ManagerStates managers;                          // clusters with an HA manager (Patroni)
  std::chrono::system_clock::time_point composed_at;
  size_t series = 0;
};

// Families owned by an immutable shared object (a store poll): serialised
// once per owner.
struct StableFamilies {
  std::shared_ptr<const void> owner;
  const std::vector<prometheus::MetricFamily>* families = nullptr;
};

struct SnapshotInputs {
  std::map<std::string, std::shared_ptr<const TargetResult>> targets;
  std::vector<ArchivePosition> archives;
  std::vector<prometheus::MetricFamily> other;  // exporter, evaluator: serialised every time
  std::vector<StableFamilies> stable;           // stores
  ManagerStates managers;                       // copied into the snapshot
  std::chrono::system_clock::time_point now;
};

// Cross-member metrics: pgdr_replication_lag_bytes/_seconds per replica,
// pgdr_rpo_bytes/_seconds{scope} with their pgdr_rpo_basis, the primary's
// last seen position, primary/replica counts per cluster, and for members
// carrying a `region`: members up per region and, for every region other
// than the primary's (a standby region), its replay position, WAL source
// and what promoting it would lose (scope="region").
//
// `primaries` is the memory of the previous call (empty at the first):
// each cluster with a member answering as primary takes that member's
// position (the most advanced one if several answer); a cluster without one
// keeps its remembered position, marked not live; clusters without any
// target in `in` (removed by a reload) are forgotten.
void AppendClusterMetrics(const SnapshotInputs& in, PrimaryPositions& primaries,
                          core::MetricSet& out);

// The exposition is that of TextSerializer over, merged in this order: every
// target (by key), the cross-member metrics, `other`, then `stable`.
class SnapshotComposer {
 public:
  std::shared_ptr<const Snapshot> Compose(const SnapshotInputs& in);
  size_t serialized_sources() const { return cache_.serialized(); }

 private:
  ExpositionCache cache_;
  PrimaryPositions primaries_;  // last seen primary of each cluster
  // Kept from one composition to the next so that their buffers are reused.
  ExpositionAssembler assembler_;
  std::vector<const SerializedFamilies*> sources_;
  SerializedFamilies computed_text_;  // the cross-member metrics
  SerializedFamilies other_text_;     // SnapshotInputs::other
};

// One composition without a cache or primary memory (serialises everything).
std::shared_ptr<const Snapshot> ComposeSnapshot(const SnapshotInputs& in);

class SnapshotStore {
 public:
  void Publish(std::shared_ptr<const Snapshot> s) {
    core::MutexLock lock(mu_);
    latest_ = std::move(s);
  }
  // nullptr until the first composition.
  std::shared_ptr<const Snapshot> Latest() const {
    core::MutexLock lock(mu_);
    return latest_;
  }

 private:
  mutable core::Mutex mu_;
  std::shared_ptr<const Snapshot> latest_ PGDR_GUARDED_BY(mu_);
};

}  // namespace pgdr::collect

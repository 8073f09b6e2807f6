#include <algorithm>

#include "pgdr/collect/snapshot.h"

namespace pgdr::collect {
namespace {

struct ClusterView {
  std::vector<const TargetResult*> primaries;
  std::vector<const TargetResult*> replicas;
  const TargetResult* primary = nullptr;  // the most advanced primary, if any
};

std::map<std::string, ClusterView> GroupByCluster(const SnapshotInputs& in) {
  std::map<std::string, ClusterView> clusters;
  for (const auto& [key, t] : in.targets) {
    ClusterView& v = clusters[t->cluster];
    if (!t->facts.up || !t->facts.in_recovery) continue;
    (*t->facts.in_recovery ? v.replicas : v.primaries).push_back(t.get());
  }
  for (auto& [name, v] : clusters) {
    for (const TargetResult* p : v.primaries) {
      if (p->facts.lsn_bytes &&
          (v.primary == nullptr || *p->facts.lsn_bytes > *v.primary->facts.lsn_bytes)) {
        v.primary = p;
      }
    }
  }
  return clusters;
}

// Seconds behind: 0 when nothing is waiting to be replayed, else the age of
// the last replayed transaction (so an idle primary never shows growing lag).
std::optional<double> LagSeconds(const MemberFacts& f, std::optional<double> lag_bytes) {
  bool caught_up = false;
  if (lag_bytes) {
    caught_up = *lag_bytes <= 0;
  } else if (f.receive_lsn_bytes && f.lsn_bytes) {
    caught_up = *f.receive_lsn_bytes <= *f.lsn_bytes;
  }
  if (caught_up) return 0.0;
  if (!f.server_time_seconds || !f.last_replay_timestamp_seconds) return std::nullopt;
  return std::max(0.0, *f.server_time_seconds - *f.last_replay_timestamp_seconds);
}

}  // namespace

void AppendClusterMetrics(const SnapshotInputs& in, core::MetricSet& out) {
  const double now = std::chrono::duration<double>(in.now.time_since_epoch()).count();
  for (const auto& [cluster, v] : GroupByCluster(in)) {
    const core::Labels cluster_labels = {{"cluster", cluster}};
    out.Gauge("pgdr_cluster_primaries", "Members of the cluster that are up and not in recovery.",
              cluster_labels, static_cast<double>(v.primaries.size()));
    double streaming = 0;
    std::optional<double> best_bytes;
    std::optional<double> best_seconds;
    for (const TargetResult* r : v.replicas) {
      const MemberFacts& f = r->facts;
      std::optional<double> lag_bytes;
      if (v.primary != nullptr && f.lsn_bytes) {
        lag_bytes = std::max(0.0, *v.primary->facts.lsn_bytes - *f.lsn_bytes);
        out.Gauge("pgdr_replication_lag_bytes",
                  "WAL bytes the replica has not replayed: the primary's current LSN minus its "
                  "replay LSN.",
                  r->labels, *lag_bytes);
      }
      const auto lag_seconds = LagSeconds(f, lag_bytes);
      if (lag_seconds) {
        out.Gauge("pgdr_replication_lag_seconds",
                  "Age of the last replayed transaction when WAL is waiting to be replayed; 0 when "
                  "caught up.",
                  r->labels, *lag_seconds);
      }
      if (!f.wal_receiver_streaming.value_or(false)) continue;
      ++streaming;
      if (lag_bytes && (!best_bytes || *lag_bytes < *best_bytes)) best_bytes = lag_bytes;
      if (lag_seconds && (!best_seconds || *lag_seconds < *best_seconds))
        best_seconds = lag_seconds;
    }
    out.Gauge("pgdr_cluster_replicas", "Members of the cluster that are up and in recovery.",
              cluster_labels, static_cast<double>(v.replicas.size()));
    out.Gauge("pgdr_cluster_streaming_replicas",
              "Replicas of the cluster whose WAL receiver is streaming.", cluster_labels,
              streaming);
    const core::Labels replica_scope = {{"cluster", cluster}, {"scope", "replica"}};
    if (best_bytes) {
      out.Gauge("pgdr_rpo_bytes", "Data that would be lost now, in WAL bytes, per failure scope.",
                replica_scope, *best_bytes);
    }
    if (best_seconds) {
      out.Gauge("pgdr_rpo_seconds",
                "Data that would be lost now, in seconds of commits, per failure scope.",
                replica_scope, *best_seconds);
    }
    // Archive scope: what a regional disaster would lose.
    const ArchivePosition* best_archive = nullptr;
    for (const auto& a : in.archives) {
      if (a.cluster != cluster || !a.up || !a.newest_lsn_bytes) continue;
      if (best_archive == nullptr || *a.newest_lsn_bytes > *best_archive->newest_lsn_bytes) {
        best_archive = &a;
      }
    }
    if (best_archive != nullptr && v.primary != nullptr) {
      const core::Labels archive_scope = {{"cluster", cluster}, {"scope", "archive"}};
      const double bytes =
          std::max(0.0, *v.primary->facts.lsn_bytes - *best_archive->newest_lsn_bytes);
      out.Gauge("pgdr_rpo_bytes", "Data that would be lost now, in WAL bytes, per failure scope.",
                archive_scope, bytes);
      if (bytes == 0) {
        out.Gauge("pgdr_rpo_seconds",
                  "Data that would be lost now, in seconds of commits, per failure scope.",
                  archive_scope, 0);
      } else if (best_archive->newest_segment_timestamp_seconds) {
        out.Gauge("pgdr_rpo_seconds",
                  "Data that would be lost now, in seconds of commits, per failure scope.",
                  archive_scope,
                  std::max(0.0, now - *best_archive->newest_segment_timestamp_seconds));
      }
    }
  }
}

}  // namespace pgdr::collect

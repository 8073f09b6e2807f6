#include <algorithm>

#include "pgdr/collect/snapshot.h"

namespace pgdr::collect {
namespace {

struct ClusterView {
  std::vector<const TargetResult*> members;  // every target of the cluster, up or not
  std::vector<const TargetResult*> primaries;
  std::vector<const TargetResult*> replicas;
  const TargetResult* primary = nullptr;  // the most advanced primary, if any
};

std::map<std::string, ClusterView> GroupByCluster(const SnapshotInputs& in) {
  std::map<std::string, ClusterView> clusters;
  for (const auto& [key, t] : in.targets) {
    ClusterView& v = clusters[t->cluster];
    v.members.push_back(t.get());
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

// A live primary replaces the remembered position (after a promotion the
// new primary's, even though it is behind the old one's last LSN).
void RememberPrimaries(const std::map<std::string, ClusterView>& clusters,
                       PrimaryPositions& primaries) {
  std::erase_if(primaries, [&](const auto& p) { return clusters.count(p.first) == 0; });
  for (const auto& [name, v] : clusters) {
    if (v.primary != nullptr) {
      primaries[name] = {v.primary->member, *v.primary->facts.lsn_bytes, v.primary->collected_at,
                         true, v.primary->region};
    } else if (const auto it = primaries.find(name); it != primaries.end()) {
      it->second.live = false;
    }
  }
}

double UnixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
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

struct Loss {
  std::optional<double> bytes;
  std::optional<double> seconds;
};

// What promoting `f` would lose: it replays all it received, so its
// position is the higher of replay and receive LSN (as the failover guards
// rank candidates). The seconds run from its last replayed commit to the
// replica's clock while the primary is live; once the primary is gone, to the
// last time pgdr saw it (an upper bound, fixed: a dead primary commits
// nothing more).
Loss PromotionLoss(const MemberFacts& f, const PrimaryPosition& primary) {
  if (!f.lsn_bytes && !f.receive_lsn_bytes) return {};
  const double position = std::max(f.lsn_bytes.value_or(0), f.receive_lsn_bytes.value_or(0));
  Loss loss;
  loss.bytes = std::max(0.0, primary.lsn_bytes - position);
  const std::optional<double> until =
      primary.live ? f.server_time_seconds : UnixSeconds(primary.seen_at);
  if (*loss.bytes == 0) {
    loss.seconds = 0.0;
  } else if (until && f.last_replay_timestamp_seconds) {
    loss.seconds = std::max(0.0, *until - *f.last_replay_timestamp_seconds);
  }
  return loss;
}

void KeepBest(const Loss& candidate, Loss& best) {
  if (candidate.bytes && (!best.bytes || *candidate.bytes < *best.bytes))
    best.bytes = candidate.bytes;
  if (candidate.seconds && (!best.seconds || *candidate.seconds < *best.seconds)) {
    best.seconds = candidate.seconds;
  }
}

// Two series of `name` told apart by `label`: 1 for values.first when
// `first` holds, else for values.second; 0 for the other.
void OneOfTwo(core::MetricSet& out, const char* name, const char* help, const core::Labels& labels,
              const char* label, std::pair<const char*, const char*> values, bool first) {
  for (const char* v : {values.first, values.second}) {
    core::Labels with = labels;
    with.push_back({label, v});
    out.Gauge(name, help, with, (v == values.first) == first ? 1 : 0);
  }
}

void AppendRpo(const std::string& cluster, const char* scope, const Loss& loss, bool live,
               core::MetricSet& out) {
  const core::Labels labels = {{"cluster", cluster}, {"scope", scope}};
  if (loss.bytes) {
    out.Gauge("pgdr_rpo_bytes", "Data that would be lost now, in WAL bytes, per failure scope.",
              labels, *loss.bytes);
    OneOfTwo(out, "pgdr_rpo_basis",
             "1 for the primary position pgdr_rpo_* of the scope is computed from: live (a "
             "member answers as primary) or last_known (the last primary LSN pgdr saw).",
             labels, "basis", {"live", "last_known"}, live);
  }
  if (loss.seconds) {
    out.Gauge("pgdr_rpo_seconds",
              "Data that would be lost now, in seconds of commits, per failure scope.", labels,
              *loss.seconds);
  }
}

// Archive scope: what a regional disaster would lose.
Loss ArchiveLoss(const SnapshotInputs& in, const std::string& cluster,
                 const PrimaryPosition& primary) {
  const ArchivePosition* best = nullptr;
  for (const auto& a : in.archives) {
    if (a.cluster != cluster || !a.up || !a.newest_lsn_bytes) continue;
    if (best == nullptr || *a.newest_lsn_bytes > *best->newest_lsn_bytes) best = &a;
  }
  if (best == nullptr) return {};
  Loss loss;
  loss.bytes = std::max(0.0, primary.lsn_bytes - *best->newest_lsn_bytes);
  // Commits since the newest archived segment, up to now, or up to the last
  // time the primary was seen once it is gone.
  const double until = UnixSeconds(primary.live ? in.now : primary.seen_at);
  if (*loss.bytes == 0) {
    loss.seconds = 0.0;
  } else if (best->newest_segment_timestamp_seconds) {
    loss.seconds = std::max(0.0, until - *best->newest_segment_timestamp_seconds);
  }
  return loss;
}

// One standby region: members up and in recovery of a region other than the
// primary's. Its position is its most advanced member's (the one a regional
// promotion picks); its source is `streaming` while any member has a WAL
// receiver (cascading from the primary region), else `archive`
// (restore_command only).
void AppendStandbyRegion(const std::string& cluster, const std::string& region,
                         const std::vector<const TargetResult*>& members,
                         const PrimaryPosition& primary, Loss& best, core::MetricSet& out) {
  std::optional<double> replay, age;
  bool receiver = false, any = false;
  Loss loss;
  for (const TargetResult* t : members) {
    const MemberFacts& f = t->facts;
    if (!f.up || f.in_recovery != true) continue;
    any = true;
    if (f.lsn_bytes && (!replay || *f.lsn_bytes > *replay)) replay = f.lsn_bytes;
    if (f.wal_receiver_streaming) receiver = true;
    if (f.server_time_seconds && f.last_replay_timestamp_seconds) {
      const double a = std::max(0.0, *f.server_time_seconds - *f.last_replay_timestamp_seconds);
      if (!age || a < *age) age = a;
    }
    KeepBest(PromotionLoss(f, primary), loss);
  }
  if (!any) return;
  const core::Labels labels = {{"cluster", cluster}, {"region", region}};
  if (replay) {
    out.Gauge("pgdr_region_replay_lsn_bytes",
              "Replay LSN of the standby region's most advanced member, in bytes.", labels,
              *replay);
  }
  OneOfTwo(out, "pgdr_region_source",
           "1 for where the standby region gets WAL from: streaming (a member has a WAL "
           "receiver) or archive (restore_command only).",
           labels, "source", {"streaming", "archive"}, receiver);
  if (age) {
    out.Gauge("pgdr_region_last_replay_age_seconds",
              "Age of the standby region's newest replayed transaction, by its members' clocks.",
              labels, *age);
  }
  KeepBest(loss, best);
}

// Members up per region; standby regions as above, and scope="region": what
// promoting the best standby region would lose.
void AppendRegions(const std::string& cluster, const ClusterView& v, const PrimaryPosition* primary,
                   core::MetricSet& out) {
  std::map<std::string, std::vector<const TargetResult*>> regions;
  for (const TargetResult* t : v.members) {
    if (!t->region.empty()) regions[t->region].push_back(t);
  }
  Loss best;
  for (const auto& [region, members] : regions) {
    const double up = static_cast<double>(std::count_if(
        members.begin(), members.end(), [](const TargetResult* t) { return t->facts.up; }));
    out.Gauge("pgdr_region_members_up", "Members of the cluster in the region that are up.",
              {{"cluster", cluster}, {"region", region}}, up);
    if (primary == nullptr || primary->region.empty() || region == primary->region) continue;
    AppendStandbyRegion(cluster, region, members, *primary, best, out);
  }
  if (primary != nullptr) AppendRpo(cluster, "region", best, primary->live, out);
}

}  // namespace

void AppendClusterMetrics(const SnapshotInputs& in, PrimaryPositions& primaries,
                          core::MetricSet& out) {
  const auto clusters = GroupByCluster(in);
  RememberPrimaries(clusters, primaries);
  for (const auto& [cluster, v] : clusters) {
    const core::Labels cluster_labels = {{"cluster", cluster}};
    out.Gauge("pgdr_cluster_primaries", "Members of the cluster that are up and not in recovery.",
              cluster_labels, static_cast<double>(v.primaries.size()));
    const auto known = primaries.find(cluster);
    const PrimaryPosition* primary = known == primaries.end() ? nullptr : &known->second;
    if (primary != nullptr) {
      out.Gauge("pgdr_primary_last_seen_timestamp_seconds",
                "When pgdr last collected a member of the cluster answering as primary.",
                cluster_labels, UnixSeconds(primary->seen_at));
      out.Gauge("pgdr_primary_last_seen_lsn_bytes",
                "That primary's current LSN then, in bytes: the position lag and RPO are "
                "computed from.",
                cluster_labels, primary->lsn_bytes);
    }
    double streaming = 0;
    Loss replica_loss;
    for (const TargetResult* r : v.replicas) {
      const MemberFacts& f = r->facts;
      std::optional<double> lag_bytes;
      if (primary != nullptr && f.lsn_bytes) {
        lag_bytes = std::max(0.0, primary->lsn_bytes - *f.lsn_bytes);
        out.Gauge("pgdr_replication_lag_bytes",
                  "WAL bytes the replica has not replayed: the primary's current (or, while no "
                  "member answers as primary, last seen) LSN minus its replay LSN.",
                  r->labels, *lag_bytes);
      }
      const auto lag_seconds = LagSeconds(f, lag_bytes);
      if (lag_seconds) {
        out.Gauge("pgdr_replication_lag_seconds",
                  "Age of the last replayed transaction when WAL is waiting to be replayed; 0 when "
                  "caught up.",
                  r->labels, *lag_seconds);
      }
      if (f.wal_receiver_streaming.value_or(false)) ++streaming;
      if (primary != nullptr) KeepBest(PromotionLoss(f, *primary), replica_loss);
    }
    out.Gauge("pgdr_cluster_replicas", "Members of the cluster that are up and in recovery.",
              cluster_labels, static_cast<double>(v.replicas.size()));
    out.Gauge("pgdr_cluster_streaming_replicas",
              "Replicas of the cluster whose WAL receiver is streaming.", cluster_labels,
              streaming);
    if (primary == nullptr) continue;
    AppendRpo(cluster, "replica", replica_loss, primary->live, out);
    AppendRpo(cluster, "archive", ArchiveLoss(in, cluster, *primary), primary->live, out);
  }
  for (const auto& [cluster, v] : clusters) {
    const auto known = primaries.find(cluster);
    AppendRegions(cluster, v, known == primaries.end() ? nullptr : &known->second, out);
  }
}

}  // namespace pgdr::collect

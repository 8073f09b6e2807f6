// The DR verdict of each cluster: "can it survive losing a node, a region,
// its data right now?", computed from the published snapshot and the latest
// object-store polls only, so that the status page and GET /api/v1/status
// show the same figures as /metrics (each figure names the series it comes
// from in docs/architecture.md).
//
//   node    a primary answers and a replica streams from it (RPO replica);
//   region  a streaming member outside the primary's region, else the WAL
//           archive (RPO archive, a restore);
//   data    a completed base backup and an unbroken WAL chain in a store
//           that answers (point-in-time recovery), and the last restore drill.
//
// Thread-safety: pure functions over immutable inputs.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "app/store_poller.h"
#include "pgdr/collect/snapshot.h"

namespace pgdr::app {

enum class Level { kOk, kWarn, kCrit, kUnknown };
const char* LevelName(Level level);  // "ok", "warn", "crit", "unknown"

struct Answer {
  Level level = Level::kUnknown;
  std::string text;  // one sentence with the figures it rests on
};

struct MemberState {
  std::string member;
  std::string region;
  bool up = false;
  std::string role;  // primary, replica, unknown (down)
  std::optional<bool> streaming;
  std::optional<double> lag_bytes;    // pgdr_replication_lag_bytes
  std::optional<double> lag_seconds;  // pgdr_replication_lag_seconds
  std::string error;
};

struct PoolerState {
  std::string name;
  bool up = false;
  std::string error;
};

struct Rpo {
  std::optional<double> bytes;    // pgdr_rpo_bytes{scope}
  std::optional<double> seconds;  // pgdr_rpo_seconds{scope}
};

struct ClusterVerdict {
  std::string cluster;
  std::vector<MemberState> members;
  std::vector<PoolerState> poolers;
  std::string primary;  // the member answering as primary, when exactly one
  int primaries = 0;
  int replicas_expected = 0;  // members configured minus the primary
  int replicas_up = 0;
  int replicas_streaming = 0;
  std::map<std::string, Rpo> rpo;  // by scope
  int stores = 0;
  int stores_up = 0;
  std::optional<double> newest_backup_age_seconds;  // now - max pgdr_backup_last_completed_...
  std::optional<double> wal_gap_segments;           // sum of pgdr_wal_archive_gap_segments
  std::optional<double> drill_age_seconds;          // now - pgdr_restore_drill_last_success_...
  Answer node, region, data, drill;
  Level overall = Level::kUnknown;
};

// Every cluster of the snapshot (members and PgBouncers), by name.
std::vector<ClusterVerdict> ClusterVerdicts(
    const collect::Snapshot& snapshot, const std::vector<std::shared_ptr<const StorePoll>>& stores,
    std::chrono::system_clock::time_point now);

nlohmann::json VerdictJson(const ClusterVerdict& v);

}  // namespace pgdr::app

// The state file under --storage.path: what pgdr must not forget across a
// restart (issue 13). Without it a restart in the middle of a rolling update
// drops the manual maintenance window and the failover cooldown, re-arming
// automatic failover, and restarts every alert's `for` clock from zero.
//
// Held: manual maintenance windows, each cluster's last failover (the
// cooldown), and every pending or firing alert's ActiveAt by group, rule and
// labels (as Prometheus restores ALERTS_FOR_STATE), and the guards' memory
// of the last primary each cluster and standby region had (member, LSN,
// when; actions::GuardMemory says why) with the regional cooldown. A
// regional promotion waiting for approval is decided again from that memory
// on the first snapshots and paged again: its confirmation is measured anew.
//
// The file is versioned JSON. Writes are atomic and durable (a temporary
// file, fsync, rename, fsync of the directory), so a crash leaves either the
// old file or the new one. A file that does not decode is a Corruption
// status naming the reason; the exporter logs it, counts it and starts empty.
//
// Thread-safety: plain functions and values.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgdr/core/status.h"

namespace pgdr::app {

inline constexpr int kStateFileVersion = 1;

struct PersistedState {
  struct Window {
    std::string cluster;  // "" is every cluster
    int64_t until_ms = 0;
    std::string reason;
    bool operator==(const Window&) const = default;
  };
  struct ForState {
    std::string group;
    std::string rule;
    std::map<std::string, std::string> labels;  // including alertname
    int64_t active_at_ms = 0;
    bool operator==(const ForState&) const = default;
  };
  struct Primary {
    std::string member;
    std::optional<double> lsn_bytes;
    int64_t seen_ms = 0;  // 0: unknown
    std::string region;   // regions only
    bool operator==(const Primary&) const = default;
  };
  struct Region {
    std::string cluster;
    std::string standby_region;
    Primary primary;
    int64_t last_promotion_ms = 0;  // 0: none
    bool operator==(const Region&) const = default;
  };
  std::vector<Window> maintenance;
  std::map<std::string, int64_t> last_failover_ms;  // by cluster
  std::map<std::string, Primary> primaries;         // by cluster
  std::vector<Region> regions;
  std::vector<ForState> alerts;
  bool operator==(const PersistedState&) const = default;
};

std::string EncodeState(const PersistedState& state);
// Corruption (with the reason) for anything but a well-formed file of
// kStateFileVersion.
core::Result<PersistedState> DecodeState(std::string_view text);

// <dir>/state.json.
std::string StateFilePath(const std::string& dir);
// Creates `dir` when missing, then writes atomically and durably.
core::Status SaveStateFile(const std::string& dir, const PersistedState& state);
// NotFound when there is no file yet; IOError or Corruption naming the file.
core::Result<PersistedState> LoadStateFile(const std::string& dir);

}  // namespace pgdr::app

// `read_pool:` of a `pgbouncers[]` entry: a PgBouncer database name that
// serves reads, which pgdr keeps pointed at a fresh replica of the pooler's
// cluster (actions/read_pool.h does the pointing).
//
// Two bounds, not one, give hysteresis: a replica leaves the pool when its
// lag passes max_lag_*, and comes back only once its lag has stayed within
// readmit_lag_* (default: the max bounds) for readmit_after, so a replica
// hovering at the bound does not flap the pooler.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "pgdr/config/yaml_reader.h"
#include "pgdr/core/status.h"

namespace pgdr::config {

struct ReadPoolConfig {
  enum class Fallback { kPrimary, kNone };

  std::string database;  // the [databases] entry of the pooler's databases_file
  std::optional<double> max_lag_bytes;
  std::optional<double> max_lag_seconds;
  std::optional<double> readmit_lag_bytes;    // default: max_lag_bytes
  std::optional<double> readmit_lag_seconds;  // default: max_lag_seconds
  std::chrono::milliseconds readmit_after{10000};
  std::vector<std::string> members;        // candidates; empty: every replica of the cluster
  Fallback fallback = Fallback::kPrimary;  // no replica qualifies: the primary, or keep as is

  bool operator==(const ReadPoolConfig&) const = default;
};

// The `read_pool` map at `node`; throws YamlError naming file:line:col
// (called inside the config's GuardYaml).
ReadPoolConfig ParseReadPool(const YamlReader& r, const YAML::Node& node);

}  // namespace pgdr::config

// Memory of a PostgreSQL instance read from the host, not from SQL.
//
// Local instance: the backend serving our connection is a child of the
// postmaster, so /proc/<backend>/stat gives the postmaster's pid; RSS and PSS
// are summed over the postmaster and all its children. RSS counts shared
// buffers once per process (overstated); PSS splits shared pages fairly and
// is the honest total. cgroup v2: memory.current and memory.max of a
// configured directory (a container's or a systemd unit's).
//
// Absent data (no permission, process gone, "max") means no sample.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pgdr/core/metric_set.h"

namespace pgdr::collect {

struct ProcessMemory {
  double rss_bytes = 0;
  std::optional<double> pss_bytes;  // needs smaps_rollup access
  int processes = 0;
};

// `proc_root` is "/proc" except in tests.
std::optional<ProcessMemory> ReadPostmasterMemory(int backend_pid,
                                                  const std::string& proc_root = "/proc");

void AppendLocalMemory(int backend_pid, const core::Labels& labels, core::MetricSet& out);
void AppendCgroupMemory(const std::string& cgroup_dir, const core::Labels& labels,
                        core::MetricSet& out);

}  // namespace pgdr::collect

#include "collect/memory_reader.h"

#include <unistd.h>

#include <sstream>

#include "collect/sql_metrics.h"
#include "pgdr/core/files.h"
#include "pgdr/core/strings.h"

namespace pgdr::collect {
namespace {

// Field 4 of /proc/<pid>/stat, after the parenthesised command name.
std::optional<int> ParentPid(const std::string& proc_root, int pid) {
  auto stat = core::ReadFile(proc_root + "/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return std::nullopt;
  const size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(stat->substr(close + 1));
  std::string state;
  int ppid = 0;
  if (!(rest >> state >> ppid)) return std::nullopt;
  return ppid;
}

std::vector<int> Children(const std::string& proc_root, int pid) {
  std::vector<int> out;
  auto text = core::ReadFile(proc_root + "/" + std::to_string(pid) + "/task/" +
                             std::to_string(pid) + "/children");
  if (!text.ok()) return out;
  std::istringstream in(*text);
  int child = 0;
  while (in >> child) out.push_back(child);
  return out;
}

std::optional<double> ResidentBytes(const std::string& proc_root, int pid) {
  auto statm = core::ReadFile(proc_root + "/" + std::to_string(pid) + "/statm");
  if (!statm.ok()) return std::nullopt;
  std::istringstream in(*statm);
  double size = 0;
  double resident = 0;
  if (!(in >> size >> resident)) return std::nullopt;
  return resident * static_cast<double>(sysconf(_SC_PAGESIZE));
}

std::optional<double> ProportionalBytes(const std::string& proc_root, int pid) {
  auto rollup = core::ReadFile(proc_root + "/" + std::to_string(pid) + "/smaps_rollup");
  if (!rollup.ok()) return std::nullopt;
  std::istringstream in(*rollup);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Pss:", 0) == 0) {
      std::istringstream f(line.substr(4));
      double kb = 0;
      if (f >> kb) return kb * 1024;
    }
  }
  return std::nullopt;
}

std::optional<double> ReadCgroupValue(const std::string& path) {
  auto text = core::ReadFile(path);
  if (!text.ok()) return std::nullopt;
  const std::string v(core::TrimRight(*text));
  double out = 0;
  if (!ParsePgNumber(v, &out)) return std::nullopt;  // "max": no limit
  return out;
}

}  // namespace

std::optional<ProcessMemory> ReadPostmasterMemory(int backend_pid, const std::string& proc_root) {
  auto postmaster = ParentPid(proc_root, backend_pid);
  if (!postmaster || *postmaster <= 1) return std::nullopt;
  std::vector<int> pids = {*postmaster};
  for (int child : Children(proc_root, *postmaster)) pids.push_back(child);
  ProcessMemory m;
  bool pss_complete = true;
  double pss = 0;
  for (int pid : pids) {
    auto rss = ResidentBytes(proc_root, pid);
    if (!rss) continue;  // exited meanwhile
    m.rss_bytes += *rss;
    ++m.processes;
    auto p = ProportionalBytes(proc_root, pid);
    if (p) {
      pss += *p;
    } else {
      pss_complete = false;
    }
  }
  if (m.processes == 0) return std::nullopt;
  if (pss_complete) m.pss_bytes = pss;
  return m;
}

void AppendLocalMemory(int backend_pid, const core::Labels& labels, core::MetricSet& out) {
  auto m = ReadPostmasterMemory(backend_pid);
  if (!m) return;
  out.Gauge(
      "pgdr_memory_rss_bytes",
      "Resident memory of the postmaster and all its children (shared pages counted per process).",
      labels, m->rss_bytes);
  if (m->pss_bytes) {
    out.Gauge("pgdr_memory_pss_bytes",
              "Proportional set size of the postmaster and all its children (shared pages split).",
              labels, *m->pss_bytes);
  }
  out.Gauge("pgdr_processes", "Processes of the instance: the postmaster and its children.", labels,
            m->processes);
}

void AppendCgroupMemory(const std::string& cgroup_dir, const core::Labels& labels,
                        core::MetricSet& out) {
  if (auto usage = ReadCgroupValue(cgroup_dir + "/memory.current")) {
    out.Gauge("pgdr_memory_cgroup_usage_bytes", "memory.current of the instance's cgroup.", labels,
              *usage);
  }
  if (auto limit = ReadCgroupValue(cgroup_dir + "/memory.max")) {
    out.Gauge("pgdr_memory_cgroup_limit_bytes",
              "memory.max of the instance's cgroup (absent: no limit).", labels, *limit);
  }
}

}  // namespace pgdr::collect

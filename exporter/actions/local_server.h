// A PostgreSQL server whose data directory is on this host, driven through
// its own tools: pg_ctl (status, stop, start), pg_controldata, pg_rewind,
// and the two files that make it a standby (standby.signal and
// primary_conninfo in postgresql.auto.conf).
//
// Why the tools and not SQL: a switchover must stop the old primary cleanly
// and a rejoin must keep a diverged old primary from ever starting as a
// primary, which only the owner of the data directory can do. Every call
// runs as the current user (the directory's owner; pg_ctl refuses root) and
// is bounded by its timeout. Output of the tools is returned in messages so
// the operator sees pg_rewind's or pg_ctl's own reason.
//
// Start reuses the options of the server's last start (postmaster.opts:
// port, socket directory, -c settings given on the command line), as
// `pg_ctl restart` does, so a server started by a service manager or a test
// with command-line options comes back on the same port. They are read when
// the LocalServer is made: pg_rewind's single-user crash recovery rewrites
// the file without them.
//
// Thread-safety: immutable; calls on the same directory must not overlap.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pgdr/config/config.h"
#include "pgdr/core/status.h"

namespace pgdr::actions {

struct ControlData {
  std::string state;           // "Database cluster state", e.g. "shut down", "in production"
  std::string checkpoint_lsn;  // "Latest checkpoint location"
  std::string timeline;        // "Latest checkpoint's TimeLineID"
};

struct RewindResult {
  bool rewound = false;  // false: pg_rewind found no divergence ("no rewind required")
  std::string detail;    // e.g. "servers diverged at WAL location 0/3000000 on timeline 1"
};

class LocalServer {
 public:
  // REQUIRES: !control.data_dir.empty().
  explicit LocalServer(config::ServerControl control);

  const std::string& data_dir() const { return control_.data_dir; }

  // Whether a postmaster runs on the directory (pg_ctl status).
  core::Result<bool> Running(std::chrono::milliseconds timeout) const;
  // pg_ctl stop -m fast -w: every session ends, a shutdown checkpoint is written.
  core::Status Stop(std::chrono::milliseconds timeout) const;
  // pg_ctl start -w with the options of the last start.
  core::Status Start(std::chrono::milliseconds timeout) const;
  core::Result<ControlData> ReadControlData(std::chrono::milliseconds timeout) const;
  // pg_rewind --target-pgdata=<dir> --source-server=<source_dsn> (a crashed
  // directory is recovered first by pg_rewind itself). REQUIRES: stopped.
  core::Result<RewindResult> Rewind(const std::string& source_dsn, const std::string& password,
                                    std::chrono::milliseconds timeout) const;
  // standby.signal (and no recovery.signal) and `primary_conninfo` in
  // postgresql.auto.conf, replacing any earlier setting. REQUIRES: stopped.
  core::Status WriteStandbyConfig(const std::string& primary_conninfo) const;

 private:
  std::string Tool(const std::string& name) const;
  core::Result<std::string> RunTool(const std::vector<std::string>& argv,
                                    std::chrono::milliseconds timeout,
                                    const std::map<std::string, std::string>& env = {}) const;

  config::ServerControl control_;
  std::string start_options_;  // postmaster.opts without the binary; empty: none
};

// "X/Y" (pg_lsn text) as a byte position; nullopt when it does not parse.
std::optional<uint64_t> ParseLsn(const std::string& text);

}  // namespace pgdr::actions

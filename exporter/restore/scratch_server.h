// The scratch PostgreSQL a restore starts: its safety settings, pg_ctl, and
// the wait for recovery to reach its target (module-private).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "pgdr/collect/pg_handle.h"
#include "pgdr/core/status.h"
#include "pgdr/restore/restore.h"

namespace pgdr::restore {

struct ScratchServer {
  std::string data_dir, run_as, pg_bin, db_user, db_name;
  int port = 0;

  std::string LogPath() const { return data_dir + "/pgdr-restore.log"; }
  std::string Dsn() const { return ScratchDsn(data_dir, port, db_user, db_name); }
};

// Settings that keep the copy away from production: no archiving, no
// upstream, loopback and a private socket only, trust on the socket alone.
core::Status IsolateScratch(const ScratchServer& server);

// pg_ctl start (not waiting: recovery may take longer than pg_ctl's wait).
core::Status StartScratch(const ScratchServer& server,
                          const std::map<std::string, std::string>& env, milliseconds timeout);

struct RecoveryState {
  std::optional<uint64_t> lsn;
  std::optional<double> time;
};

// Waits until recovery reached the target: promoted (not in recovery), or
// paused when target.action is pause. A server that exits (its postmaster
// gone, or its log saying so) names the cause from its log: disk_full
// (ENOSPC), target_not_reached ("recovery ended before configured recovery
// target was reached", PostgreSQL >= 13), start_failed.
struct WaitOutcome {
  std::string result = "ok";
  std::string message;
  RecoveryState state;                 // after an exit: lsn is where redo ended, when logged
  std::string redo_done, last_commit;  // from the log of a server that exited
};
WaitOutcome WaitForRecovery(const ScratchServer& server, const RecoveryTarget& target,
                            milliseconds timeout, const std::atomic<bool>* cancel);

core::Result<collect::PgConnPtr> ConnectScratch(const ScratchServer& server, milliseconds timeout);

}  // namespace pgdr::restore

// Planned switchover and rejoin: the two operator procedures behind
// `pgdr_exporter switchover` and `pgdr_exporter rejoin` (docs/actions.md).
//
// Switchover moves the primary role to a caught-up replica without losing a
// committed transaction: the cluster's PgBouncers are PAUSEd (clients wait),
// the old primary is stopped cleanly (a fast shutdown ends every session and
// writes a shutdown checkpoint its WAL senders deliver before exiting), the
// candidate must replay past that checkpoint, is promoted, the poolers are
// repointed and RESUMEd, and the old primary restarts as a standby of the new
// one. Nothing is written after the final LSN is taken, so "caught up to the
// final LSN" means "has every commit". Until the promotion, any failure
// aborts: the old primary is started again as primary and the poolers resume
// on it.
//
// Rejoin turns the old primary of a failover into a standby of the new
// primary and never lets it start as a second primary: it is stopped if
// running, pg_rewind takes it back to the point where the timelines forked
// (or reports that no rewind is needed), then standby.signal and
// primary_conninfo are written before it starts.
//
// Both need the member's data directory on this host (targets[].control) and
// run as its owner (pg_ctl refuses root). They are command-line runs, not
// the exporter process: their outcome is the returned report (printed and
// logged), not a metric.
//
// Thread-safety: each call is independent; every step is bounded by
// `step_timeout`.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "pgdr/config/config.h"

namespace pgdr::actions {

// One finished step of a procedure, as printed to the operator.
struct ProcedureStep {
  std::string name;  // e.g. "pause_pgbouncer"
  bool ok = false;
  std::chrono::milliseconds duration{0};
  std::string detail;  // one human sentence: what was done or why it failed
};

struct ProcedureReport {
  std::string kind;  // "switchover" | "rejoin"
  // success; refused (nothing was changed); aborted (changes were undone:
  // the old primary is writable again); failed (the procedure stopped half
  // way; `reason` says what is left to do).
  std::string result;
  std::string reason;  // one human sentence
  std::string old_primary;
  std::string new_primary;
  std::vector<ProcedureStep> steps;
  // Switchover: from the PAUSE of the first pooler to the RESUME of the last
  // (the client-visible pause pgdr measured); zero when none was paused.
  std::chrono::milliseconds paused{0};
  std::string rewind;  // rejoin: "pg_rewind" | "not_needed" | "" when not reached
};

// Called as each step ends, so a long step is seen while it runs.
using StepCallback = std::function<void(const ProcedureStep&)>;

struct SwitchoverOptions {
  std::string cluster;
  std::string to;  // the candidate; empty: the streaming replica with the highest replay LSN
  std::chrono::milliseconds step_timeout{60000};  // default 60s per step
  double max_lag_bytes = 16.0 * 1024 * 1024;      // refuse above, default 16 MiB
};

// `sections`: the config's owned sections as LoadConfig handed them out
// (the actions the procedure needs are parsed from them).
ProcedureReport RunSwitchover(const config::Config& config, const config::OwnedSections& sections,
                              const SwitchoverOptions& options, const StepCallback& on_step);

struct RejoinOptions {
  std::string cluster;
  std::string member;
  std::string data_dir;  // overrides targets[].control.data_dir
  std::chrono::milliseconds step_timeout{60000};
};

ProcedureReport RunRejoin(const config::Config& config, const config::OwnedSections& sections,
                          const RejoinOptions& options, const StepCallback& on_step);

}  // namespace pgdr::actions

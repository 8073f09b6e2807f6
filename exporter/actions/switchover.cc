// pgdr_exporter switchover: the procedure of switchover.h, one step at a
// time. Until the promotion every failure is undone (abort); after it the
// procedure goes on and reports what it could not finish.
#include "pgdr/actions/switchover.h"

#include <thread>

#include "actions/local_server.h"
#include "actions/pg_session.h"
#include "actions/procedure.h"
#include "pgdr/core/strings.h"

namespace pgdr::actions {

using std::chrono::milliseconds;

namespace {

std::string Bytes(double b) { return std::to_string(static_cast<long long>(b)) + " bytes"; }

// The cluster's one primary and the candidate, checked for a switchover.
struct Roles {
  const ClusterMember* primary = nullptr;
  const ClusterMember* candidate = nullptr;
  std::string detail;
};

core::Result<Roles> Locate(const ClusterAccess& access, const SwitchoverOptions& options) {
  Roles roles;
  std::vector<std::string> primaries, down;
  MemberState best;
  for (const auto& m : access.members) {
    const MemberState s = ProbeMember(m, options.step_timeout);
    if (!s.up) {
      down.push_back(m.endpoint.member + " (" + s.error + ")");
      if (m.endpoint.member == options.to) {
        return core::Status::Unavailable("candidate " + options.to + " is down: " + s.error);
      }
      continue;
    }
    if (!s.in_recovery) {
      primaries.push_back(m.endpoint.member);
      roles.primary = &m;
      continue;
    }
    const bool wanted = options.to.empty() ? s.receiver == "streaming" &&
                                                 (!roles.candidate || LsnGap(best.lsn, s.lsn) > 0)
                                           : m.endpoint.member == options.to;
    if (wanted) {
      roles.candidate = &m;
      best = s;
    }
  }
  if (primaries.size() != 1) {
    return core::Status::Unavailable(primaries.empty() ? "no member answers as primary"
                                                       : "several members answer as primary: " +
                                                             core::Join(primaries, ", "));
  }
  if (!options.to.empty() && !access.Find(options.to)) {
    return core::Status::NotFound("cluster has no member \"" + options.to + "\"");
  }
  if (!options.to.empty() && options.to == roles.primary->endpoint.member) {
    return core::Status::InvalidArgument(options.to + " is the primary already");
  }
  if (!roles.candidate) {
    return core::Status::Unavailable("no replica streams from the primary: nothing to switch to");
  }
  if (roles.primary->control.data_dir.empty()) {
    return core::Status::InvalidArgument(
        "primary " + roles.primary->endpoint.member +
        " has no control.data_dir: the switchover stops it with pg_ctl and restarts it as a "
        "standby, so it must run on this host with its data directory configured");
  }
  for (const auto& p : access.poolers) {
    if (p.databases_file.empty()) {
      return core::Status::InvalidArgument("pgbouncer " + p.name +
                                           " has no databases_file: it could not be repointed");
    }
  }
  if (best.receiver != "streaming") {
    return core::Status::Unavailable("candidate " + roles.candidate->endpoint.member +
                                     " is not streaming (wal receiver: " +
                                     (best.receiver.empty() ? "none" : best.receiver) + ")");
  }
  const MemberState primary = ProbeMember(*roles.primary, options.step_timeout);
  const double lag = LsnGap(best.lsn, primary.lsn);
  if (lag > options.max_lag_bytes) {
    return core::Status::Unavailable("candidate " + roles.candidate->endpoint.member + " replays " +
                                     Bytes(lag) + " behind the primary (max " +
                                     Bytes(options.max_lag_bytes) + ")");
  }
  roles.detail = "primary " + roles.primary->endpoint.member + " at " + primary.lsn +
                 ", candidate " + roles.candidate->endpoint.member + " streaming, replayed " +
                 best.lsn + " (" + Bytes(lag) + " behind); " +
                 std::to_string(access.poolers.size()) + " pgbouncer(s)" +
                 (down.empty() ? "" : "; down: " + down.front());
  return roles;
}

class Switchover {
 public:
  Switchover(const SwitchoverOptions& options, ProcedureReport& report, const StepCallback& cb)
      : options_(options), report_(report), steps_(report, cb) {}

  void Run(const ClusterAccess& access);

 private:
  core::Status Pause(const ClusterAccess& access);
  core::Status Resume();
  void Abort(const std::string& reason);
  core::Result<std::string> CatchUp();
  void Finish(std::string result, std::string reason) {
    report_.result = std::move(result);
    report_.reason = std::move(reason);
  }

  const SwitchoverOptions& options_;
  ProcedureReport& report_;
  StepRunner steps_;
  Roles roles_;
  std::optional<LocalServer> old_;
  bool stopped_ = false;
  std::string final_lsn_;
  std::vector<PoolerEndpoint> paused_;              // PAUSE sent (perhaps not finished)
  std::vector<collect::PgConnPtr> pause_sessions_;  // kept open until the end
  std::chrono::steady_clock::time_point pause_start_;
};

core::Status Switchover::Pause(const ClusterAccess& access) {
  pause_start_ = std::chrono::steady_clock::now();
  for (const auto& p : access.poolers) {
    auto conn = Connect(p.admin_dsn, p.password, options_.step_timeout, false);
    if (!conn.ok())
      return core::Status::Unavailable("pgbouncer " + p.name + ": " + conn.status().message());
    // PAUSE waits for the transactions in flight; new ones queue in PgBouncer.
    auto r = QueryWithin(conn->get(), "PAUSE", options_.step_timeout);
    paused_.push_back(p);
    pause_sessions_.push_back(std::move(*conn));
    if (!r.ok()) return core::Status::IOError("pgbouncer " + p.name + ": " + r.status().message());
  }
  return core::Status::OK();
}

core::Status Switchover::Resume() {
  core::Status first;
  // A new admin session: the pause is PgBouncer's state, and the session
  // that sent PAUSE may still wait on a cancelled one.
  for (const auto& p : paused_) {
    auto conn = Connect(p.admin_dsn, p.password, options_.step_timeout, false);
    core::Result<std::string> r = conn.ok()
                                      ? QueryWithin(conn->get(), "RESUME", options_.step_timeout)
                                      : core::Result<std::string>(conn.status());
    // "not paused" when PAUSE itself failed: nothing to undo.
    if (!r.ok() && r.status().message().find("not paused") == std::string::npos && first.ok()) {
      first = core::Status::IOError("pgbouncer " + p.name + ": " + r.status().message());
    }
  }
  paused_.clear();
  if (pause_start_ != std::chrono::steady_clock::time_point()) {
    report_.paused =
        std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - pause_start_);
  }
  return first;
}

void Switchover::Abort(const std::string& reason) {
  bool restored = true;
  if (stopped_) {
    auto r = steps_.Run("restart_old_primary", [&]() -> core::Result<std::string> {
      if (core::Status st = old_->Start(options_.step_timeout); !st.ok()) return st;
      const MemberState s = ProbeMember(*roles_.primary, options_.step_timeout);
      if (!s.up || s.in_recovery) {
        return core::Status::IOError("restarted but not a writable primary: " +
                                     (s.up ? std::string("in recovery") : s.error));
      }
      return roles_.primary->endpoint.member + " is primary again at " + s.lsn;
    });
    restored = r.ok();
  }
  if (!paused_.empty()) {
    auto r = steps_.Run("resume_pgbouncer", [&]() -> core::Result<std::string> {
      if (core::Status st = Resume(); !st.ok()) return st;
      return "resumed on " + roles_.primary->endpoint.member;
    });
    restored = restored && r.ok();
  }
  Finish(restored ? "aborted" : "failed",
         reason + (restored ? "; the old primary is writable again"
                            : "; undoing failed too: see the steps above"));
}

core::Result<std::string> Switchover::CatchUp() {
  const auto final = ParseLsn(final_lsn_);
  const auto start = std::chrono::steady_clock::now();
  std::string replayed, received;
  bool disconnected = false;
  const core::Status st = PollUntil(
      [&]() -> core::Result<bool> {
        const MemberState s = ProbeMember(*roles_.candidate, options_.step_timeout);
        if (!s.up) return false;
        replayed = s.lsn;
        received = s.receive_lsn;
        const auto replay = ParseLsn(s.lsn);
        // Replay past the checkpoint record's start means it replayed it.
        if (replay && *replay > *final) return true;
        const auto receive = ParseLsn(s.receive_lsn);
        // The WAL senders deliver the shutdown checkpoint before they exit:
        // a candidate that lacks it and has no receiver will never get it.
        if (s.receiver != "streaming" && (!receive || *receive <= *final) &&
            std::chrono::steady_clock::now() - start > std::chrono::seconds(1)) {
          disconnected = true;
          return core::Status::Unavailable("");
        }
        return false;
      },
      options_.step_timeout, "replay past " + final_lsn_);
  const std::string who = "candidate " + roles_.candidate->endpoint.member;
  if (disconnected) {
    return core::Status::Unavailable(who + " disconnected: received WAL up to " +
                                     (received.empty() ? "nothing" : received) +
                                     ", the old primary's final LSN is " + final_lsn_);
  }
  if (!st.ok()) {
    return core::Status::Timeout(who + " fell behind: replayed " + replayed + ", must pass " +
                                 final_lsn_ + " (" + std::to_string(options_.step_timeout.count()) +
                                 "ms)");
  }
  return who + " replayed " + replayed + ", past the old primary's final LSN " + final_lsn_;
}

void Switchover::Run(const ClusterAccess& access) {
  auto located = steps_.Run("check_candidate", [&]() -> core::Result<std::string> {
    auto roles = Locate(access, options_);
    if (!roles.ok()) return roles.status();
    roles_ = *roles;
    return roles_.detail;
  });
  if (!located.ok()) return Finish("refused", located.status().message());
  report_.old_primary = roles_.primary->endpoint.member;
  report_.new_primary = roles_.candidate->endpoint.member;
  old_.emplace(roles_.primary->control);

  auto paused = steps_.Run("pause_pgbouncer", [&]() -> core::Result<std::string> {
    if (core::Status st = Pause(access); !st.ok()) return st;
    return std::to_string(paused_.size()) + " pgbouncer(s) paused: clients wait";
  });
  if (!paused.ok()) return Abort("pause failed: " + paused.status().message());

  auto stopped = steps_.Run("stop_old_primary", [&]() -> core::Result<std::string> {
    const core::Status st = old_->Stop(options_.step_timeout);
    auto running = old_->Running(options_.step_timeout);
    stopped_ = !running.ok() || !*running;
    if (!st.ok()) return st;
    auto cd = old_->ReadControlData(options_.step_timeout);
    if (!cd.ok()) return cd.status();
    if (cd->state != "shut down") {
      return core::Status::IOError("cluster state \"" + cd->state + "\" after pg_ctl stop");
    }
    final_lsn_ = cd->checkpoint_lsn;
    return roles_.primary->endpoint.member +
           " shut down cleanly; final LSN (shutdown checkpoint) " + final_lsn_ + " on timeline " +
           cd->timeline;
  });
  if (!stopped.ok()) return Abort("stopping the old primary failed: " + stopped.status().message());

  auto caught_up = steps_.Run("wait_replay", [&] { return CatchUp(); });
  if (!caught_up.ok()) return Abort(caught_up.status().message());

  auto promoted = steps_.Run("promote", [&]() -> core::Result<std::string> {
    if (core::Status st = PromoteReplica(roles_.candidate->endpoint, options_.step_timeout);
        !st.ok()) {
      return st;
    }
    return roles_.candidate->endpoint.member + " promoted";
  });
  if (!promoted.ok()) {
    const MemberState s = ProbeMember(*roles_.candidate, options_.step_timeout);
    if (s.up && s.in_recovery) return Abort("promotion failed: " + promoted.status().message());
    if (!paused_.empty()) (void)Resume();
    return Finish("failed", "promotion of " + roles_.candidate->endpoint.member + " failed (" +
                                promoted.status().message() +
                                ") and its state is unknown; the old primary stays stopped");
  }

  std::vector<std::string> problems;
  // Named variables, not a structured binding: clang 14 cannot capture one.
  const std::pair<std::string, std::string> address = SplitHostPort(roles_.candidate->address);
  const std::string& host = address.first;
  const std::string& port = address.second;
  auto redirected = steps_.Run("repoint_pgbouncer", [&]() -> core::Result<std::string> {
    core::Status first;
    for (PoolerEndpoint p : access.poolers) {
      p.reconnect = false;  // paused: it holds no server connection to reconnect
      const core::Status st = RedirectPooler(p, host, port, options_.step_timeout);
      if (!st.ok() && first.ok()) first = st;
    }
    // Resumed even when a redirect failed: clients then fail fast instead of waiting.
    const core::Status resumed = Resume();
    if (!first.ok()) return first;
    if (!resumed.ok()) return resumed;
    return std::to_string(access.poolers.size()) + " pgbouncer(s) point at " +
           roles_.candidate->endpoint.member + " (" + roles_.candidate->address + ") and resumed";
  });
  if (!redirected.ok()) problems.push_back("pgbouncer: " + redirected.status().message());

  for (const auto& m : access.members) {
    if (&m == roles_.primary || &m == roles_.candidate) continue;
    const MemberState s = ProbeMember(m, options_.step_timeout);
    if (!s.up || !s.in_recovery) continue;
    auto r = steps_.Run("repoint_replica", [&]() -> core::Result<std::string> {
      if (core::Status st = RepointReplica(m.endpoint, host, port, options_.step_timeout);
          !st.ok()) {
        return st;
      }
      return m.endpoint.member + " follows " + roles_.candidate->endpoint.member;
    });
    if (!r.ok()) problems.push_back(m.endpoint.member + ": " + r.status().message());
  }

  (void)steps_.Run("timeline_check", [&]() -> core::Result<std::string> {
    return "no pg_rewind needed: " + roles_.candidate->endpoint.member + " replayed past " +
           final_lsn_ + ", the old primary's last record, before its timeline began";
  });
  if (core::Status st =
          StartAsStandby(steps_, *old_, *roles_.primary, *roles_.candidate, options_.step_timeout);
      !st.ok()) {
    problems.push_back("old primary as standby: " + st.message());
  }
  if (problems.empty()) {
    return Finish("success", roles_.candidate->endpoint.member + " is primary; " +
                                 roles_.primary->endpoint.member + " streams from it");
  }
  std::string all;
  for (const auto& p : problems) all += (all.empty() ? "" : "; ") + p;
  Finish("failed", roles_.candidate->endpoint.member + " is primary, but: " + all);
}

}  // namespace

ProcedureReport RunSwitchover(const config::Config& config, const config::OwnedSections& sections,
                              const SwitchoverOptions& options, const StepCallback& on_step) {
  ProcedureReport report;
  report.kind = "switchover";
  auto access = LoadClusterAccess(config, sections, options.cluster);
  if (!access.ok()) {
    report.result = "refused";
    report.reason = access.status().message();
    return report;
  }
  Switchover(options, report, on_step).Run(*access);
  return report;
}

}  // namespace pgdr::actions

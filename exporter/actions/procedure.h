// What the switchover and rejoin procedures share: the cluster as the config
// describes it (members with their control section, the poolers that front
// it), a probe of one member, the step runner that times, records and
// prints every step, and the last stage of both (make a stopped member a
// standby of the new primary, start it, see it stream).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "actions/local_server.h"
#include "pgdr/actions/providers.h"
#include "pgdr/actions/switchover.h"
#include "pgdr/config/config.h"

namespace pgdr::actions {

struct ClusterMember {
  PgEndpoint endpoint;
  std::string address;  // "host:port" of its DSN
  config::ServerControl control;
};

struct ClusterAccess {
  std::vector<ClusterMember> members;   // config order
  std::vector<PoolerEndpoint> poolers;  // the pgbouncers with `cluster:` this cluster
  const ClusterMember* Find(const std::string& member) const;
};

// REQUIRES: the config loaded; fails when the cluster has no member.
core::Result<ClusterAccess> LoadClusterAccess(const config::Config& config,
                                              const config::OwnedSections& sections,
                                              const std::string& cluster);

// One member as seen over SQL now.
struct MemberState {
  bool up = false;
  std::string error;  // why not up
  bool in_recovery = false;
  std::string lsn;          // pg_current_wal_lsn() on a primary, replay LSN on a standby
  std::string receive_lsn;  // standby: last WAL flushed by its receiver
  std::string receiver;     // pg_stat_wal_receiver.status; empty: no receiver
};
MemberState ProbeMember(const ClusterMember& m, std::chrono::milliseconds timeout);

// Bytes from `from` to `to` (0 when `to` is not ahead or either is unknown).
double LsnGap(const std::string& from, const std::string& to);

// Runs the steps of one procedure into `report`, timing each and telling
// `on_step` as each ends. A step returns its detail sentence or the Status
// that stops the procedure.
class StepRunner {
 public:
  StepRunner(ProcedureReport& report, const StepCallback& on_step)
      : report_(report), on_step_(on_step) {}
  core::Result<std::string> Run(const std::string& name,
                                const std::function<core::Result<std::string>()>& step);

 private:
  ProcedureReport& report_;
  const StepCallback& on_step_;
};

// The primary_conninfo a member streams from `primary` with: the member's
// replication_conninfo (or the primary's DSN), host and port of `primary`,
// application_name = the member, so pg_stat_replication names it.
std::string StandbyConninfo(const ClusterMember& member, const ClusterMember& primary);

// The last stage of both procedures on a stopped member: standby.signal and
// primary_conninfo, start, then wait until `primary`'s pg_stat_replication
// shows it streaming. Each is one step of `steps`.
core::Status StartAsStandby(StepRunner& steps, const LocalServer& server,
                            const ClusterMember& member, const ClusterMember& primary,
                            std::chrono::milliseconds timeout);

// Polls `done` every 50ms until it returns true or `timeout` passes;
// a non-OK Status from `done` ends the wait with that Status.
core::Status PollUntil(const std::function<core::Result<bool>()>& done,
                       std::chrono::milliseconds timeout, const std::string& what);

}  // namespace pgdr::actions

// pgdr_exporter rejoin: the old primary of a failover becomes a standby of
// the new primary (switchover.h). The member is stopped before anything
// else and is only started again with standby.signal in place, so it can
// never come back as a second primary.
#include "actions/local_server.h"
#include "actions/pg_session.h"
#include "actions/procedure.h"
#include "pgdr/actions/switchover.h"
#include "pgdr/core/strings.h"

namespace pgdr::actions {

namespace {

struct RejoinRoles {
  const ClusterMember* member = nullptr;
  const ClusterMember* primary = nullptr;
  config::ServerControl control;
  std::string detail;
};

core::Result<RejoinRoles> LocateRejoin(const ClusterAccess& access, const RejoinOptions& options) {
  RejoinRoles roles;
  roles.member = access.Find(options.member);
  if (!roles.member) {
    return core::Status::NotFound("cluster " + options.cluster + " has no member \"" +
                                  options.member + "\"");
  }
  roles.control = roles.member->control;
  if (!options.data_dir.empty()) roles.control.data_dir = options.data_dir;
  if (roles.control.data_dir.empty()) {
    return core::Status::InvalidArgument(
        "member " + options.member +
        " has no data directory: pass --data-dir or set its control.data_dir (rejoin stops, "
        "rewinds and restarts it on this host)");
  }
  std::vector<std::string> primaries;
  for (const auto& m : access.members) {
    if (&m == roles.member) continue;
    const MemberState s = ProbeMember(m, options.step_timeout);
    if (s.up && !s.in_recovery) {
      primaries.push_back(m.endpoint.member);
      roles.primary = &m;
    }
  }
  if (primaries.size() != 1) {
    return core::Status::Unavailable(primaries.empty()
                                         ? "no other member answers as primary: nothing to rejoin"
                                         : "several other members answer as primary: " +
                                               core::Join(primaries, ", "));
  }
  const MemberState self = ProbeMember(*roles.member, options.step_timeout);
  roles.detail = "new primary " + roles.primary->endpoint.member + "; " + options.member + " " +
                 (!self.up           ? "does not answer"
                  : self.in_recovery ? "answers as a standby"
                                     : "answers as a second primary");
  return roles;
}

}  // namespace

ProcedureReport RunRejoin(const config::Config& config, const config::OwnedSections& sections,
                          const RejoinOptions& options, const StepCallback& on_step) {
  ProcedureReport report;
  report.kind = "rejoin";
  report.old_primary = options.member;
  StepRunner steps(report, on_step);
  auto refuse = [&](const std::string& reason) {
    report.result = "refused";
    report.reason = reason;
    return report;
  };
  auto access = LoadClusterAccess(config, sections, options.cluster);
  if (!access.ok()) return refuse(access.status().message());
  RejoinRoles roles;
  auto located = steps.Run("locate", [&]() -> core::Result<std::string> {
    auto r = LocateRejoin(*access, options);
    if (!r.ok()) return r.status();
    roles = *r;
    return roles.detail;
  });
  if (!located.ok()) return refuse(located.status().message());
  report.new_primary = roles.primary->endpoint.member;
  const LocalServer server(roles.control);

  auto stopped = steps.Run("stop_member", [&]() -> core::Result<std::string> {
    auto running = server.Running(options.step_timeout);
    if (!running.ok()) return running.status();
    if (!*running) return options.member + " was not running";
    if (core::Status st = server.Stop(options.step_timeout); !st.ok()) return st;
    return options.member + " stopped (pg_ctl stop -m fast)";
  });
  if (!stopped.ok()) return refuse(stopped.status().message());

  auto rewound = steps.Run("rewind", [&]() -> core::Result<std::string> {
    // PostgreSQL 15's pg_rewind reads the source's timeline from its control
    // file, which a just-promoted primary updates only at its next
    // checkpoint: without this it reports "no rewind required" and the
    // member could never follow.
    auto source = Connect(roles.primary->endpoint.dsn, roles.primary->endpoint.password,
                          options.step_timeout, true);
    if (!source.ok()) return source.status();
    if (auto c = Query(source->get(), "CHECKPOINT"); !c.ok()) {
      return core::Status::IOError("CHECKPOINT on " + roles.primary->endpoint.member +
                                   " (needs superuser or pg_checkpoint): " + c.status().message());
    }
    auto r = server.Rewind(roles.primary->endpoint.dsn, roles.primary->endpoint.password,
                           options.step_timeout);
    if (!r.ok()) return r.status();
    report.rewind = r->rewound ? "pg_rewind" : "not_needed";
    return (r->rewound ? "pg_rewind path: " : "no rewind: ") + r->detail;
  });
  if (!rewound.ok()) {
    return refuse("pg_rewind cannot rejoin " + options.member + " to " +
                  roles.primary->endpoint.member + ": " + rewound.status().message() + "; " +
                  options.member + " stays stopped");
  }

  if (core::Status st =
          StartAsStandby(steps, server, *roles.member, *roles.primary, options.step_timeout);
      !st.ok()) {
    report.result = "failed";
    report.reason = options.member + " was rewound but did not rejoin: " + st.message();
    return report;
  }
  report.result = "success";
  report.reason = options.member + " streams from " + roles.primary->endpoint.member;
  return report;
}

}  // namespace pgdr::actions

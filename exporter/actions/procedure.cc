#include "actions/procedure.h"

#include <thread>

#include "actions/pg_session.h"
#include "pgdr/actions/actions_config.h"

namespace pgdr::actions {

using std::chrono::milliseconds;

namespace {

std::string SqlLiteral(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == sep) {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

}  // namespace

const ClusterMember* ClusterAccess::Find(const std::string& member) const {
  for (const auto& m : members) {
    if (m.endpoint.member == member) return &m;
  }
  return nullptr;
}

core::Result<ClusterAccess> LoadClusterAccess(const config::Config& config,
                                              const config::OwnedSections& sections,
                                              const std::string& cluster) {
  auto actions = LoadActionsConfig(config, sections);
  if (!actions.ok()) return actions.status();
  const auto members = actions->members.find(cluster);
  if (members == actions->members.end()) {
    return core::Status::NotFound(config.file + ": no target has cluster \"" + cluster + "\"");
  }
  ClusterAccess out;
  for (const auto& ep : members->second) {
    ClusterMember m;
    m.endpoint = ep;
    m.address = actions->addresses[cluster + "/" + ep.member];
    for (const auto& t : config.targets) {
      if (t.cluster == cluster && t.member == ep.member) m.control = t.control;
    }
    out.members.push_back(std::move(m));
  }
  for (const auto& [name, pooler] : actions->poolers) {
    if (actions->pooler_cluster[name] == cluster) out.poolers.push_back(pooler);
  }
  return out;
}

MemberState ProbeMember(const ClusterMember& m, milliseconds timeout) {
  MemberState s;
  auto conn = Connect(m.endpoint.dsn, m.endpoint.password, timeout, true);
  if (!conn.ok()) {
    s.error = conn.status().message();
    return s;
  }
  auto row = Query(conn->get(),
                   "SELECT concat(pg_is_in_recovery(), '|', CASE WHEN pg_is_in_recovery() THEN "
                   "coalesce(pg_last_wal_replay_lsn()::text, '') ELSE pg_current_wal_lsn()::text "
                   "END, '|', coalesce(pg_last_wal_receive_lsn()::text, ''), '|', "
                   "coalesce((SELECT status FROM pg_stat_wal_receiver), ''))");
  if (!row.ok()) {
    s.error = row.status().message();
    return s;
  }
  const auto cells = Split(*row, '|');
  if (cells.size() != 4) {
    s.error = "unexpected probe row \"" + *row + "\"";
    return s;
  }
  s.up = true;
  s.in_recovery = cells[0] == "t";
  s.lsn = cells[1];
  s.receive_lsn = cells[2];
  s.receiver = cells[3];
  return s;
}

double LsnGap(const std::string& from, const std::string& to) {
  const auto a = ParseLsn(from), b = ParseLsn(to);
  if (!a || !b || *b <= *a) return 0;
  return static_cast<double>(*b - *a);
}

core::Result<std::string> StepRunner::Run(const std::string& name,
                                          const std::function<core::Result<std::string>()>& step) {
  const auto start = std::chrono::steady_clock::now();
  core::Result<std::string> r = step();
  ProcedureStep s;
  s.name = name;
  s.ok = r.ok();
  s.duration = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
  s.detail = r.ok() ? *r : r.status().message();
  report_.steps.push_back(s);
  if (on_step_) on_step_(s);
  return r;
}

std::string StandbyConninfo(const ClusterMember& member, const ClusterMember& primary) {
  const std::string base = member.control.replication_conninfo.empty()
                               ? UriToKeywords(primary.endpoint.dsn)
                               : UriToKeywords(member.control.replication_conninfo);
  const auto [host, port] = SplitHostPort(primary.address);
  // A later keyword wins in a libpq conninfo: the member's name is the
  // application_name the new primary reports it under.
  return RewriteConninfo(base, host, port) +
         " application_name=" + SqlLiteral(member.endpoint.member);
}

core::Status PollUntil(const std::function<core::Result<bool>()>& done, milliseconds timeout,
                       const std::string& what) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto r = done();
    if (!r.ok()) return r.status();
    if (*r) return core::Status::OK();
    if (std::chrono::steady_clock::now() >= deadline) {
      return core::Status::Timeout(what + " not seen within " + std::to_string(timeout.count()) +
                                   "ms");
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
}

core::Status StartAsStandby(StepRunner& steps, const LocalServer& server,
                            const ClusterMember& member, const ClusterMember& primary,
                            milliseconds timeout) {
  auto configured = steps.Run("configure_standby", [&]() -> core::Result<std::string> {
    if (core::Status st = server.WriteStandbyConfig(StandbyConninfo(member, primary)); !st.ok()) {
      return st;
    }
    return "standby.signal written; primary_conninfo points at " + primary.endpoint.member + " (" +
           primary.address + ")";
  });
  if (!configured.ok()) return configured.status();
  auto started = steps.Run("start_standby", [&]() -> core::Result<std::string> {
    if (core::Status st = server.Start(timeout); !st.ok()) return st;
    return member.endpoint.member + " started in " + server.data_dir();
  });
  if (!started.ok()) return started.status();
  auto streaming = steps.Run("verify_streaming", [&]() -> core::Result<std::string> {
    std::string where;
    const core::Status st = PollUntil(
        [&]() -> core::Result<bool> {
          auto conn = Connect(primary.endpoint.dsn, primary.endpoint.password, timeout, true);
          if (!conn.ok()) return false;
          auto row = Query(conn->get(),
                           "SELECT concat(state, ' replay_lsn=', replay_lsn) FROM "
                           "pg_stat_replication WHERE application_name = " +
                               SqlLiteral(member.endpoint.member));
          if (!row.ok() || row->rfind("streaming", 0) != 0) return false;
          where = *row;
          return true;
        },
        timeout,
        "pg_stat_replication on " + primary.endpoint.member + " showing " + member.endpoint.member +
            " streaming");
    if (!st.ok()) return st;
    return "pg_stat_replication on " + primary.endpoint.member + ": " + member.endpoint.member +
           " " + where;
  });
  return streaming.ok() ? core::Status::OK() : streaming.status();
}

}  // namespace pgdr::actions

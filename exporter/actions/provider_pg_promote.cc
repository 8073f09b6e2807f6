// pg_promote: promotes the candidate itself over libpq, then (with
// repoint_replicas) points the other streaming replicas at it.
#include "actions/provider_table.h"
#include "pgdr/core/log.h"

namespace pgdr::actions {
namespace {

class PgPromote final : public FailoverProvider {
 public:
  std::string_view name() const override { return "pg_promote"; }
  ProviderNeeds needs() const override { return {}; }

  core::Status Promote(const FailoverPlan& plan,
                       std::chrono::steady_clock::time_point deadline) const override {
    core::Status st = PromoteReplica(plan.candidate, Remaining(deadline));
    if (!st.ok() || !plan.trigger.repoint_replicas) return st;
    const auto [host, port] = SplitHostPort(plan.decision.candidate_address);
    for (const auto& m : plan.members) {
      if (m.member == plan.decision.candidate || !m.up || m.in_recovery != true) continue;
      for (const auto& ep : plan.endpoints) {
        if (ep.member != m.member) continue;
        // A replica left behind is logged, not a failed failover: the promotion happened.
        const core::Status rs = RepointReplica(ep, host, port, Remaining(deadline));
        core::Log(rs.ok() ? core::LogLevel::kInfo : core::LogLevel::kError, "replica repointed",
                  {{"cluster", plan.cluster},
                   {"member", m.member},
                   {"primary", plan.decision.candidate},
                   {"result", rs.ok() ? "success" : "failed"},
                   {"error", rs.message()}});
      }
    }
    return st;
  }
};

}  // namespace

const FailoverProvider& PgPromoteProvider() {
  static const PgPromote provider;
  return provider;
}

}  // namespace pgdr::actions

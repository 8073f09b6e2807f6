// exec: runs the trigger's command with the decision in its environment
// (PGDR_CANDIDATE, PGDR_OLD_PRIMARY, ...; see docs/actions.md).
#include <cmath>

#include "actions/provider_table.h"

namespace pgdr::actions {
namespace {

std::string Whole(double v) { return std::to_string(std::llround(v)); }

class Exec final : public FailoverProvider {
 public:
  std::string_view name() const override { return "exec"; }
  ProviderNeeds needs() const override { return {.command = true}; }

  core::Status Promote(const FailoverPlan& plan,
                       std::chrono::steady_clock::time_point deadline) const override {
    const FailoverDecision& d = plan.decision;
    const auto alertname = plan.alert.labels.find("alertname");
    return RunCommand(
        plan.trigger.command,
        {{"PGDR_ACTION", "failover"},
         {"PGDR_TRIGGER", plan.trigger.name},
         {"PGDR_CLUSTER", plan.cluster},
         {"PGDR_ALERTNAME", alertname == plan.alert.labels.end() ? "" : alertname->second},
         {"PGDR_ALERT_LABELS", LabelsJson(plan.alert.labels)},
         {"PGDR_CANDIDATE", d.candidate},
         {"PGDR_CANDIDATE_ADDRESS", d.candidate_address},
         {"PGDR_CANDIDATE_LSN_BYTES", Whole(d.candidate_lsn)},
         {"PGDR_LAG_BYTES", Whole(d.lag_bytes)},
         {"PGDR_OLD_PRIMARY", d.old_primary},
         {"PGDR_DRY_RUN", "false"}},
        Remaining(deadline));
  }
};

}  // namespace

const FailoverProvider& ExecProvider() {
  static const Exec provider;
  return provider;
}

}  // namespace pgdr::actions

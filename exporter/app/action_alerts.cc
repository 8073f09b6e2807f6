#include "app/action_alerts.h"

#include <algorithm>
#include <chrono>

namespace pgdr::app {

std::vector<actions::ActionAlert> ToActionAlerts(const std::vector<rules::ManagedAlert>& in,
                                                 int64_t resend_delay_ms) {
  const auto at = [](int64_t ms) {
    return actions::TimePoint(
        std::chrono::duration_cast<actions::TimePoint::duration>(std::chrono::milliseconds(ms)));
  };
  std::vector<actions::ActionAlert> out;
  out.reserve(in.size());
  for (const auto& m : in) {
    const rules::Alert& a = m.alert;
    if (a.state == rules::AlertState::kInactive && a.resolved_at_ms == 0) continue;
    actions::ActionAlert alert;
    for (const auto& l : a.labels) alert.labels[l.name] = l.value;
    alert.annotations = a.annotations;
    if (a.resolved_at_ms != 0) {
      alert.state = actions::ActionAlert::State::kResolved;
      alert.resolved_at = at(a.resolved_at_ms);
    } else {
      alert.state = a.state == rules::AlertState::kFiring ? actions::ActionAlert::State::kFiring
                                                          : actions::ActionAlert::State::kPending;
    }
    alert.active_at = at(a.active_at_ms);
    if (a.fired_at_ms != 0) alert.fired_at = at(a.fired_at_ms);
    if (m.last_eval_ms != 0) {
      alert.valid_until = at(m.last_eval_ms + 4 * std::max(m.interval_ms, resend_delay_ms));
    }
    alert.value = a.value;
    out.push_back(std::move(alert));
  }
  return out;
}

}  // namespace pgdr::app

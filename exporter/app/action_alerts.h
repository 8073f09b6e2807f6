// The evaluator's alerts as the actions module sees them: pending, firing
// and resolved alerts with their times, and how long each stays valid if the
// evaluator stops (4 * max(group interval, resend delay), the endsAt
// Prometheus sends).
//
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <vector>

#include "pgdr/actions/engine.h"
#include "pgdr/rules/manager.h"

namespace pgdr::app {

std::vector<actions::ActionAlert> ToActionAlerts(const std::vector<rules::ManagedAlert>& in,
                                                 int64_t resend_delay_ms);

}  // namespace pgdr::app

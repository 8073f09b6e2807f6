// The /api/v1/statements JSON: each member's top statements of its last
// collection (text truncated), from the immutable snapshot only.
#pragma once

#include <string>

#include "pgdr/collect/snapshot.h"

namespace pgdr::app {

std::string StatementsJson(const collect::Snapshot& snapshot);

}  // namespace pgdr::app

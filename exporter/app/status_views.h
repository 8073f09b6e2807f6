// The /api/v1/targets JSON, in the shape of Prometheus's targets API with
// our labels, built from the immutable snapshot only. The status page is
// status_page.h.
#pragma once

#include <string>

#include "pgdr/collect/snapshot.h"

namespace pgdr::app {

std::string TargetsJson(const collect::Snapshot& snapshot);

}  // namespace pgdr::app

// A RestoreReport as JSON: what `restore --format=json` prints and what
// /api/v1/drills shows for each drill (module-private).
#pragma once

#include <nlohmann/json.hpp>

#include "pgdr/restore/restore.h"

namespace pgdr::restore {

nlohmann::json ReportJson(const RestoreReport& report);

}  // namespace pgdr::restore

// Byte sizes as PostgreSQL writes them ("16MB", "512kB", "1048576"), for
// lag bounds in health-check URLs (?lag=) and in the config.
#pragma once

#include <string_view>

#include "pgdr/core/status.h"

namespace pgdr::config {

// Bytes, with PostgreSQL's 1024-based units B, kB, MB, GB, TB (a bare
// number is bytes). Negative sizes, spaces and unknown units are errors.
core::Result<double> ParseByteSize(std::string_view text);

}  // namespace pgdr::config

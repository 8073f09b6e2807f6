// Turns the rows of one SQL collector's result into metric samples, as the
// query's column spec says: LABEL columns become labels, GAUGE / COUNTER /
// MAPPEDMETRIC / DURATION columns become one sample each, DISCARD and
// undeclared columns are ignored. A NULL value means "no sample", never 0.
//
// Guards: a row whose label set repeats within a metric is dropped and
// counted as a duplicate; past `max_series` samples the rest are dropped and
// counted as over the limit. A scrape is never broken by a user's query.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgdr/config/query_spec.h"
#include "pgdr/core/metric_set.h"

namespace pgdr::collect {

// A query result in text form, independent of libpq so it can be tested.
struct TextTable {
  std::vector<std::string> columns;
  // rows[r][c]; std::nullopt for SQL NULL.
  std::vector<std::vector<std::optional<std::string>>> rows;
};

struct SqlMetricsStats {
  size_t samples = 0;
  size_t duplicates = 0;
  size_t over_limit = 0;
  size_t unparsable = 0;  // values that are neither numbers nor booleans
};

SqlMetricsStats AppendQueryMetrics(const config::QuerySpec& spec, const TextTable& table,
                                   const core::Labels& base_labels, size_t max_series,
                                   core::MetricSet& out);

// Parses a PostgreSQL text value as a number: numerics, "t"/"f", "NaN",
// "Infinity". Returns false when it is none of those. REQUIRES: `text` is
// NUL-terminated (a std::string, or a value straight from a PGresult).
bool ParsePgNumber(std::string_view text, double* value);

}  // namespace pgdr::collect

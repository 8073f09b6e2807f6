#include "collect/sql_metrics.h"

#include <cstdlib>
#include <limits>
#include <set>
#include <unordered_map>

namespace pgdr::collect {

bool ParsePgNumber(std::string_view text, double* value) {
  if (text == "t" || text == "true") {
    *value = 1;
    return true;
  }
  if (text == "f" || text == "false") {
    *value = 0;
    return true;
  }
  if (text == "NaN") {
    *value = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (text == "Infinity" || text == "-Infinity") {
    *value = text[0] == '-' ? -std::numeric_limits<double>::infinity()
                            : std::numeric_limits<double>::infinity();
    return true;
  }
  if (text.empty()) return false;
  char* end = nullptr;
  *value = std::strtod(text.data(), &end);
  return end == text.data() + text.size();
}

SqlMetricsStats AppendQueryMetrics(const config::QuerySpec& spec, const TextTable& table,
                                   const core::Labels& base_labels, size_t max_series,
                                   core::MetricSet& out) {
  SqlMetricsStats stats;
  struct Bound {
    const config::ColumnSpec* spec;
    int index;
  };
  std::vector<Bound> labels;
  std::vector<Bound> values;
  for (const auto& c : spec.columns) {
    int index = -1;
    for (size_t i = 0; i < table.columns.size(); ++i) {
      if (table.columns[i] == c.column) index = static_cast<int>(i);
    }
    if (index < 0 || c.usage == config::ColumnUsage::kDiscard) continue;
    (c.usage == config::ColumnUsage::kLabel ? labels : values).push_back({&c, index});
  }
  // Label names already set by the target win over a query's column of the same name.
  std::set<std::string> taken;
  for (const auto& l : base_labels) taken.insert(l.name);

  std::unordered_map<std::string, std::set<std::string>> seen;  // metric -> label values
  for (const auto& row : table.rows) {
    core::Labels row_labels = base_labels;
    std::string identity;
    for (const auto& l : labels) {
      if (taken.count(l.spec->column) != 0) continue;
      const auto& v = row[static_cast<size_t>(l.index)];
      row_labels.push_back({l.spec->column, v.value_or("")});
      identity += v.value_or("");
      identity += '\xff';
    }
    for (const auto& m : values) {
      const auto& cell = row[static_cast<size_t>(m.index)];
      if (!cell) continue;
      double value = 0;
      if (m.spec->usage == config::ColumnUsage::kMappedMetric) {
        auto it = m.spec->mapping.find(*cell);
        if (it == m.spec->mapping.end()) {
          ++stats.unparsable;
          continue;
        }
        value = it->second;
      } else if (!ParsePgNumber(*cell, &value)) {
        ++stats.unparsable;
        continue;
      }
      value *= m.spec->scale;
      if (!seen[m.spec->metric_name].insert(identity).second) {
        ++stats.duplicates;
        continue;
      }
      if (stats.samples >= max_series) {
        ++stats.over_limit;
        continue;
      }
      const bool added =
          m.spec->usage == config::ColumnUsage::kCounter
              ? out.Counter(m.spec->metric_name, m.spec->description, row_labels, value)
              : out.Gauge(m.spec->metric_name, m.spec->description, row_labels, value);
      if (added) {
        ++stats.samples;
      } else {
        ++stats.duplicates;  // same name already used with another type
      }
    }
  }
  return stats;
}

}  // namespace pgdr::collect

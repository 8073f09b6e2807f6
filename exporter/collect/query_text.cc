#include "collect/query_text.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

namespace pgdr::collect {
namespace {

prometheus::MetricType TypeOf(config::ColumnUsage usage) {
  return usage == config::ColumnUsage::kCounter ? prometheus::MetricType::Counter
                                                : prometheus::MetricType::Gauge;
}

// FNV-1a over the label values, each ended by 0xff (as AppendQueryMetrics'
// identity: NULL and "" are the same).
std::uint64_t Mix(std::uint64_t h, std::string_view s) {
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return (h ^ 0xffU) * 1099511628211ULL;
}

}  // namespace

std::optional<std::string_view> TextTableView::cell(int row, int column) const {
  const auto& c = table_.rows[static_cast<size_t>(row)][static_cast<size_t>(column)];
  if (!c) return std::nullopt;
  return std::string_view(*c);
}

bool QueryTextWriter::Handles(const config::QuerySpec& spec) {
  for (size_t i = 0; i < spec.columns.size(); ++i) {
    const auto& a = spec.columns[i];
    if (a.usage == config::ColumnUsage::kLabel || a.usage == config::ColumnUsage::kDiscard)
      continue;
    for (size_t j = i + 1; j < spec.columns.size(); ++j) {
      const auto& b = spec.columns[j];
      if (b.usage == config::ColumnUsage::kLabel || b.usage == config::ColumnUsage::kDiscard) {
        continue;
      }
      if (a.metric_name == b.metric_name) return false;
    }
  }
  return true;
}

bool QueryTextWriter::Value(const Bound& m, std::string_view cell, double* value) {
  if (m.spec->usage == config::ColumnUsage::kMappedMetric) {
    key_.assign(cell);
    auto it = m.spec->mapping.find(key_);
    if (it == m.spec->mapping.end()) return false;
    *value = it->second;
  } else if (!ParsePgNumber(cell, value)) {
    return false;
  }
  *value *= m.spec->scale;
  return true;
}

bool QueryTextWriter::SameIdentity(const ResultView& result, int a, int b) const {
  for (const Bound& l : labels_) {
    if (result.cell(a, l.index).value_or("") != result.cell(b, l.index).value_or("")) return false;
  }
  return true;
}

void QueryTextWriter::FindRepeats(const ResultView& result) {
  const int rows = result.rows();
  hash_.assign(static_cast<size_t>(rows), 14695981039346656037ULL);
  order_.resize(static_cast<size_t>(rows));
  first_.resize(static_cast<size_t>(rows));
  for (int r = 0; r < rows; ++r) {
    std::uint64_t h = hash_[static_cast<size_t>(r)];
    for (const Bound& l : labels_) h = Mix(h, result.cell(r, l.index).value_or(""));
    hash_[static_cast<size_t>(r)] = h;
    order_[static_cast<size_t>(r)] = r;
    first_[static_cast<size_t>(r)] = r;
  }
  std::sort(order_.begin(), order_.end(), [this](int a, int b) {
    const auto ha = hash_[static_cast<size_t>(a)];
    const auto hb = hash_[static_cast<size_t>(b)];
    return ha != hb ? ha < hb : a < b;
  });
  // Within a run of equal hashes (rows in ascending order), a row repeats the
  // first earlier row whose label values are equal.
  for (size_t i = 1; i < order_.size(); ++i) {
    const int r = order_[i];
    for (size_t j = i; j-- > 0;) {
      const int e = order_[j];
      if (hash_[static_cast<size_t>(e)] != hash_[static_cast<size_t>(r)]) break;
      if (first_[static_cast<size_t>(e)] == e && SameIdentity(result, e, r)) {
        first_[static_cast<size_t>(r)] = e;
        break;
      }
    }
  }
}

SqlMetricsStats QueryTextWriter::Write(const config::QuerySpec& spec, const ResultView& result,
                                       const core::Labels& base_labels, size_t max_series,
                                       SerializedFamilies& out) {
  SqlMetricsStats stats;
  labels_.clear();
  values_.clear();
  const int columns = result.columns();
  for (const auto& c : spec.columns) {
    int index = -1;
    for (int i = 0; i < columns; ++i) {
      if (result.column_name(i) == c.column) index = i;
    }
    if (index < 0 || c.usage == config::ColumnUsage::kDiscard) continue;
    if (c.usage == config::ColumnUsage::kLabel) {
      // Label names already set by the target win over a query's column of the same name.
      const bool taken = std::any_of(base_labels.begin(), base_labels.end(),
                                     [&](const core::Label& l) { return l.name == c.column; });
      if (!taken) labels_.push_back({&c, index});
    } else {
      values_.push_back({&c, index});
    }
  }
  out.resize(values_.size());
  for (size_t i = 0; i < values_.size(); ++i) {
    const config::ColumnSpec& c = *values_[i].spec;
    SerializedFamily& f = out[i];
    f.name.assign(c.metric_name);
    f.type = TypeOf(c.usage);
    f.header.clear();
    if (!c.description.empty()) {
      f.header += "# HELP ";
      f.header += c.metric_name;
      f.header += ' ';
      f.header += c.description;
      f.header += '\n';
    }
    f.header += "# TYPE ";
    f.header += c.metric_name;
    f.header += ' ';
    f.header += MetricTypeName(TypeOf(c.usage));
    f.header += '\n';
    f.samples.clear();
    f.series = 0;
    f.hidden = true;
  }
  FindRepeats(result);

  const int rows = result.rows();
  for (int r = 0; r < rows; ++r) {
    row_labels_.clear();
    bool first = true;
    for (const auto& l : base_labels) AppendLabelPair(row_labels_, first, l.name, l.value);
    for (const Bound& l : labels_) {
      AppendLabelPair(row_labels_, first, l.spec->column, result.cell(r, l.index).value_or(""));
    }
    if (!first) row_labels_ += '}';
    const int repeats = first_[static_cast<size_t>(r)];
    for (size_t i = 0; i < values_.size(); ++i) {
      const Bound& m = values_[i];
      const auto cell = result.cell(r, m.index);
      if (!cell) continue;
      double value = 0;
      if (!Value(m, *cell, &value)) {
        ++stats.unparsable;
        continue;
      }
      if (repeats != r) {
        // A duplicate when an earlier row with these label values gave this metric a value.
        bool seen = false;
        double ignored = 0;
        for (int e = repeats; e < r && !seen; ++e) {
          if (first_[static_cast<size_t>(e)] != repeats) continue;
          const auto earlier = result.cell(e, m.index);
          seen = earlier && Value(m, *earlier, &ignored);
        }
        if (seen) {
          ++stats.duplicates;
          continue;
        }
      }
      if (stats.samples >= max_series) {
        ++stats.over_limit;
        continue;
      }
      SerializedFamily& f = out[i];
      f.samples += f.name;
      f.samples += row_labels_;
      f.samples += ' ';
      AppendSampleValue(f.samples, value);
      f.samples += '\n';
      ++f.series;
      f.hidden = false;
      ++stats.samples;
    }
  }
  return stats;
}

}  // namespace pgdr::collect

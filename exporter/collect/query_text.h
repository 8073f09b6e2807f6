// QueryTextWriter: one SQL collector's result written as exposition text
// straight from the result's cells, with no ClientMetric in between.
//
// Building a label vector and a ClientMetric per sample, then serialising
// them, was the largest share of the exporter's CPU per cycle (docs/
// benchmarks.md). The writer produces the bytes AppendQueryMetrics followed
// by SerializeFamilies produce for the same result (unit tests compare the
// two), with the same guards (NULL is no sample, repeated label sets dropped
// as duplicates, `max_series` per query) and the same counts. Each value
// column is one family slot; a slot without samples is `hidden`. The writer
// keeps its scratch buffers, and refills an output whose buffers it already
// sized, so that a steady-state cycle allocates nothing here.
//
// Thread-safety: none; a writer belongs to one collector.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collect/sql_metrics.h"
#include "pgdr/collect/exposition.h"
#include "pgdr/config/query_spec.h"

namespace pgdr::collect {

// A query result's cells, independent of libpq so that the writer can be
// tested. A cell's text must be NUL-terminated (libpq's and std::string's are).
class ResultView {
 public:
  virtual ~ResultView() = default;
  virtual int rows() const = 0;
  virtual int columns() const = 0;
  virtual std::string_view column_name(int column) const = 0;
  virtual std::optional<std::string_view> cell(int row, int column) const = 0;
};

// A TextTable as a ResultView.
class TextTableView final : public ResultView {
 public:
  explicit TextTableView(const TextTable& table) : table_(table) {}
  int rows() const override { return static_cast<int>(table_.rows.size()); }
  int columns() const override { return static_cast<int>(table_.columns.size()); }
  std::string_view column_name(int column) const override {
    return table_.columns[static_cast<size_t>(column)];
  }
  std::optional<std::string_view> cell(int row, int column) const override;

 private:
  const TextTable& table_;
};

class QueryTextWriter {
 public:
  // Whether the writer handles `spec`: not when two value columns share a
  // metric name (their samples would be one family; AppendQueryMetrics does it).
  static bool Handles(const config::QuerySpec& spec);

  // Replaces `out` with the result's samples, one slot per value column of
  // `spec` in spec order.
  SqlMetricsStats Write(const config::QuerySpec& spec, const ResultView& result,
                        const core::Labels& base_labels, size_t max_series,
                        SerializedFamilies& out);

 private:
  struct Bound {
    const config::ColumnSpec* spec;
    int index;
  };
  // Whether `value` of row `row`, column `m` yields a sample value.
  bool Value(const Bound& m, std::string_view cell, double* value);
  bool SameIdentity(const ResultView& result, int a, int b) const;
  void FindRepeats(const ResultView& result);

  std::vector<Bound> labels_;  // label columns not already set by the target
  std::vector<Bound> values_;
  std::vector<std::uint64_t> hash_;  // per row: hash of its label values
  std::vector<int> order_;           // rows by (hash, row)
  std::vector<int> first_;           // per row: first row with its label values
  std::string row_labels_;           // "{…}" of the current row
  std::string key_;                  // a MAPPEDMETRIC cell, for the lookup
};

}  // namespace pgdr::collect

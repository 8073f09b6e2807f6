// StatementTracker: bounded statement response-time metrics from the
// cumulative counters of pg_stat_statements (or pg_stat_monitor).
//
// Why stateful C++ and not a queries/*.yml collector: the view's counters are
// per queryid and unbounded in number (postgres_exporter's per-statement
// series took Prometheus down). Only deltas between two cycles tell which
// statements cost time *now*, so the tracker keeps the previous counters,
// emits the top N statements of each database by time plus one `other`
// series holding the rest (totals stay exact), and per-database / per-user
// means. Series per database are at most N + 1 by construction. Statement
// text never becomes a label; it is kept for /api/v1/statements, truncated.
//
// A counter that went backwards (pg_stat_statements_reset(), or an entry
// deallocated and re-added) counts from zero: its current value is the delta.
//
// Thread-safety: none; one tracker belongs to one member's collection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "collect/query_text.h"
#include "collect/sql_metrics.h"
#include "pgdr/collect/statement_view.h"
#include "pgdr/core/metric_set.h"

namespace pgdr::collect {

// One row of pg_stat_statements: cumulative since the entry was created.
struct StatementRow {
  std::string datname;
  std::string usename;
  std::string queryid;
  std::string query;
  double calls = 0;
  double exec_ms = 0;  // total_exec_time
  double plan_ms = 0;  // total_plan_time (0 when track_planning is off)
  double rows = 0;
  double stddev_exec_ms = 0;  // stddev_exec_time, for the histogram estimate
};

inline constexpr size_t kStatementTextLimit = 256;
// The queries/statements.yml entry whose rows feed the tracker.
inline constexpr std::string_view kStatementsQuery = "pgdr_statements";

class StatementTracker {
 public:
  explicit StatementTracker(size_t top_n) : top_n_(top_n) {}

  // Feeds the rows of one cycle taken `interval_seconds` after the previous
  // one and appends the cycle's metrics to `out`. The first cycle only sets
  // the baseline (emits nothing but the histogram's zero state).
  void Update(const std::vector<StatementRow>& rows, double interval_seconds,
              const core::Labels& base_labels, core::MetricSet& out);

  const std::vector<StatementView>& top() const { return top_; }

 private:
  struct Counters {
    double calls = 0;
    double exec_ms = 0;
    double plan_ms = 0;
    double rows = 0;
  };
  struct Histogram {
    std::vector<double> cumulative;  // per bound, calls at or under it
    double count = 0;
    double sum_seconds = 0;
  };

  struct Entry {
    Counters now;             // the counters of the cycle `generation`
    Counters before;          // those of the cycle before it
    bool had_before = false;  // the key was there the cycle before too
    uint64_t generation = 0;
  };

  size_t top_n_;
  bool have_baseline_ = false;
  uint64_t generation_ = 0;                          // cycles fed so far
  std::unordered_map<std::string, Entry> previous_;  // key: datname, usename, queryid
  std::string key_;                                  // scratch: the key of one row
  std::map<std::string, Histogram> histograms_;      // per datname, since start
  std::vector<StatementView> top_;
};

// The rows of a pg_stat_statements read into `out`, whose strings are reused:
// the columns of queries/statements.yml by name (datname, usename, queryid,
// query, calls, total_exec_time, total_plan_time, rows, stddev_exec_time); a
// missing or NULL number counts as 0. REQUIRES: NUL-terminated cells, as
// ParsePgNumber.
void StatementRowsFromResult(const ResultView& result, std::vector<StatementRow>& out);

// Truncates statement text at a UTF-8 character boundary.
std::string TruncateStatement(const std::string& text, size_t limit);

}  // namespace pgdr::collect

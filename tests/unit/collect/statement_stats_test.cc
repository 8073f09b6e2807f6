#include "collect/statement_stats.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pgdr::collect {
namespace {

StatementRow Row(const std::string& db, const std::string& id, double calls, double exec_ms) {
  StatementRow r;
  r.datname = db;
  r.usename = "app";
  r.queryid = id;
  r.query = "SELECT " + id;
  r.calls = calls;
  r.exec_ms = exec_ms;
  r.rows = calls;
  return r;
}

const prometheus::MetricFamily* Find(const core::MetricSet& set, const std::string& name) {
  auto it = set.families().find(name);
  return it == set.families().end() ? nullptr : &it->second;
}

std::string Label(const prometheus::ClientMetric& m, const std::string& name) {
  for (const auto& l : m.label) {
    if (l.name == name) return l.value;
  }
  return "";
}

double Value(const core::MetricSet& set, const std::string& name, const std::string& db,
             const std::string& queryid) {
  const auto* f = Find(set, name);
  if (f == nullptr) return -1;
  for (const auto& m : f->metric) {
    if (Label(m, "datname") == db && (queryid.empty() || Label(m, "queryid") == queryid)) {
      return core::SampleValue(*f, m);
    }
  }
  return -1;
}

TEST(StatementTracker, FirstCycleIsABaselineOnly) {
  StatementTracker t(2);
  core::MetricSet out;
  t.Update({Row("db", "1", 10, 100)}, 10, {}, out);
  EXPECT_EQ(Find(out, "pgdr_statement_calls_per_second"), nullptr);
  EXPECT_EQ(Find(out, "pgdr_statement_response_seconds"), nullptr);
}

TEST(StatementTracker, AStatementGoneForACycleCountsFromZeroAndRepeatsUseTheCycleBefore) {
  StatementTracker t(5);
  core::MetricSet first;
  t.Update({Row("db", "a", 10, 100), Row("db", "b", 10, 100)}, 10, {}, first);
  core::MetricSet second;  // b evicted from pg_stat_statements
  t.Update({Row("db", "a", 20, 200)}, 10, {}, second);
  EXPECT_DOUBLE_EQ(Value(second, "pgdr_statement_calls_per_second", "db", "a"), 1);
  EXPECT_EQ(Value(second, "pgdr_statement_calls_per_second", "db", "b"), -1);
  core::MetricSet third;  // b back with 4 calls: all new; a twice (toplevel and not)
  t.Update({Row("db", "a", 30, 300), Row("db", "a", 25, 250), Row("db", "b", 4, 40)}, 10, {},
           third);
  EXPECT_DOUBLE_EQ(Value(third, "pgdr_statement_calls_per_second", "db", "b"), 0.4);
  // Both rows of a against the cycle before (20 calls): 10 + 5.
  EXPECT_DOUBLE_EQ(Value(third, "pgdr_statement_calls_per_second", "db", "a"), 1.5);
}

TEST(StatementTracker, TopNPlusOtherKeepTotalsExact) {
  StatementTracker t(2);
  core::MetricSet first;
  t.Update({Row("db", "a", 0, 0), Row("db", "b", 0, 0), Row("db", "c", 0, 0), Row("db", "d", 0, 0)},
           10, {}, first);
  core::MetricSet out;
  // Over 10 s: a 3000 ms, b 2000 ms, c 500 ms, d 100 ms.
  t.Update({Row("db", "a", 30, 3000), Row("db", "b", 20, 2000), Row("db", "c", 10, 500),
            Row("db", "d", 5, 100)},
           10, {}, out);
  EXPECT_DOUBLE_EQ(Value(out, "pgdr_statement_time_seconds_per_second", "db", "a"), 0.3);
  EXPECT_DOUBLE_EQ(Value(out, "pgdr_statement_time_seconds_per_second", "db", "b"), 0.2);
  EXPECT_DOUBLE_EQ(Value(out, "pgdr_statement_time_seconds_per_second", "db", "other"), 0.06);
  EXPECT_DOUBLE_EQ(Value(out, "pgdr_statement_calls_per_second", "db", "other"), 1.5);
  EXPECT_EQ(Value(out, "pgdr_statement_calls_per_second", "db", "c"), -1);
  // Mean over every statement: 5.6 s / 65 calls.
  EXPECT_DOUBLE_EQ(Value(out, "pgdr_database_statement_mean_seconds", "db", ""), 5.6 / 65);
  EXPECT_DOUBLE_EQ(Value(out, "pgdr_database_statement_calls_per_second", "db", ""), 6.5);
  ASSERT_EQ(t.top().size(), 2U);
  EXPECT_EQ(t.top()[0].queryid, "a");
  EXPECT_EQ(t.top()[0].query, "SELECT a");
}

TEST(StatementTracker, TenThousandStatementsGiveAtMostNPlusOneSeriesPerDatabase) {
  constexpr size_t kN = 20;
  StatementTracker t(kN);
  std::vector<StatementRow> rows;
  for (int db = 0; db < 2; ++db) {
    for (int i = 0; i < 10000; ++i) {
      rows.push_back(Row("db" + std::to_string(db), std::to_string(i), 0, 0));
    }
  }
  core::MetricSet baseline;
  t.Update(rows, 10, {}, baseline);
  double expected_total = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i].calls = 1 + static_cast<double>(i % 7);
    rows[i].exec_ms = static_cast<double>(i % 1000);
    if (rows[i].datname == "db0") expected_total += rows[i].exec_ms / 1000.0;
  }
  core::MetricSet out;
  t.Update(rows, 1, {}, out);
  const auto* f = Find(out, "pgdr_statement_time_seconds_per_second");
  ASSERT_NE(f, nullptr);
  size_t db0 = 0;
  double sum = 0;
  for (const auto& m : f->metric) {
    if (Label(m, "datname") != "db0") continue;
    ++db0;
    sum += m.gauge.value;
  }
  EXPECT_EQ(db0, kN + 1);
  EXPECT_EQ(f->metric.size(), 2 * (kN + 1));
  EXPECT_NEAR(sum, expected_total, 1e-6);
}

TEST(StatementTracker, ResetCountsFromZero) {
  StatementTracker t(5);
  core::MetricSet a;
  t.Update({Row("db", "1", 100, 1000)}, 10, {}, a);
  core::MetricSet b;
  // pg_stat_statements_reset(): the counters restart below the last ones.
  t.Update({Row("db", "1", 4, 40)}, 10, {}, b);
  EXPECT_DOUBLE_EQ(Value(b, "pgdr_statement_calls_per_second", "db", "1"), 0.4);
  EXPECT_DOUBLE_EQ(Value(b, "pgdr_statement_time_seconds_per_second", "db", "1"), 0.004);
}

TEST(StatementTracker, HistogramIsCumulativeAndCountsEveryCall) {
  StatementTracker t(1);
  core::MetricSet a;
  t.Update({Row("db", "fast", 0, 0), Row("db", "slow", 0, 0)}, 10, {}, a);
  core::MetricSet b;
  t.Update({Row("db", "fast", 100, 100), Row("db", "slow", 2, 4000)}, 10, {}, b);
  const auto* f = Find(b, "pgdr_statement_response_seconds");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(f->metric.size(), 1U);
  const auto& h = f->metric[0].histogram;
  EXPECT_EQ(h.sample_count, 102U);
  EXPECT_DOUBLE_EQ(h.sample_sum, 4.1);
  // stddev 0: the 1 ms calls are at le=0.001, the 2 s calls between 1 and 2.5.
  EXPECT_EQ(h.bucket.front().cumulative_count, 100U);
  EXPECT_EQ(h.bucket[9].cumulative_count, 100U);   // le=1
  EXPECT_EQ(h.bucket[10].cumulative_count, 102U);  // le=2.5
}

TEST(TruncateStatement, KeepsWholeUtf8Characters) {
  EXPECT_EQ(TruncateStatement("abc", 5), "abc");
  EXPECT_EQ(TruncateStatement("ab\xc3\xa9z", 3), "ab...");
  EXPECT_EQ(TruncateStatement("ALTER ROLE a PASSWORD 'x'", 100), "(hidden: mentions a password)");
}

}  // namespace
}  // namespace pgdr::collect

#include "collect/sql_metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace pgdr::collect {
namespace {

config::QuerySpec Spec() {
  auto q = config::ParseQueryFile(R"(
q:
  query: x
  metrics:
    - db: {usage: LABEL, description: d}
    - size: {usage: GAUGE, name: t_size_bytes, scale: 1024, description: d}
    - commits: {usage: COUNTER, name: t_commits_total, description: d}
    - state: {usage: MAPPEDMETRIC, name: t_state, description: d, mapping: {open: 1, closed: 0}}
    - skip: {usage: DISCARD, description: d}
)",
                                  "q.yml", "t_");
  EXPECT_TRUE(q.ok()) << q.status().ToString();
  return (*q)[0];
}

const prometheus::MetricFamily* Find(const core::MetricSet& m, const std::string& name) {
  auto it = m.families().find(name);
  return it == m.families().end() ? nullptr : &it->second;
}

TEST(SqlMetricsTest, LabelsGaugesCountersMappingAndNulls) {
  TextTable t;
  t.columns = {"db", "size", "commits", "state", "skip"};
  t.rows = {{"app", "2", "10", "open", "zzz"}, {"other", std::nullopt, "f", "closed", "1"}};
  core::MetricSet out;
  const SqlMetricsStats s = AppendQueryMetrics(Spec(), t, {{"cluster", "c"}}, 100, out);
  EXPECT_EQ(s.samples, 5u);
  const auto* size = Find(out, "t_size_bytes");
  ASSERT_NE(size, nullptr);
  ASSERT_EQ(size->metric.size(), 1u);  // NULL is absent, never 0
  EXPECT_EQ(size->metric[0].gauge.value, 2048);
  EXPECT_EQ(size->metric[0].label.size(), 2u);
  EXPECT_EQ(size->metric[0].label[1].value, "app");
  const auto* commits = Find(out, "t_commits_total");
  ASSERT_NE(commits, nullptr);
  EXPECT_EQ(commits->type, prometheus::MetricType::Counter);
  EXPECT_EQ(commits->metric[1].counter.value, 0);  // "f" is false
  EXPECT_EQ(Find(out, "t_state")->metric[1].gauge.value, 0);
  EXPECT_EQ(Find(out, "t_q_skip"), nullptr);
}

TEST(SqlMetricsTest, DuplicatesAndLimitAreDroppedAndCounted) {
  TextTable t;
  t.columns = {"db", "commits"};
  for (int i = 0; i < 10; ++i) t.rows.push_back({std::to_string(i % 5), "1"});
  core::MetricSet out;
  const SqlMetricsStats s = AppendQueryMetrics(Spec(), t, {}, 3, out);
  EXPECT_EQ(s.samples, 3u);
  EXPECT_EQ(s.duplicates, 5u);
  EXPECT_EQ(s.over_limit, 2u);
}

TEST(SqlMetricsTest, TargetLabelsWinOverColumnsOfTheSameName) {
  auto q = config::ParseQueryFile(
      "q:\n  query: x\n  metrics:\n    - cluster: {usage: LABEL}\n    - v: {usage: GAUGE}\n",
      "q.yml", "t_");
  ASSERT_TRUE(q.ok());
  TextTable t{{"cluster", "v"}, {{"evil", "1"}}};
  core::MetricSet out;
  AppendQueryMetrics((*q)[0], t, {{"cluster", "prod"}}, 10, out);
  const auto& labels = out.families().at("t_q_v").metric[0].label;
  ASSERT_EQ(labels.size(), 1u);
  EXPECT_EQ(labels[0].value, "prod");
}

TEST(SqlMetricsTest, ParsePgNumber) {
  double v = 0;
  EXPECT_TRUE(ParsePgNumber("1.5e3", &v));
  EXPECT_EQ(v, 1500);
  EXPECT_TRUE(ParsePgNumber("NaN", &v));
  EXPECT_TRUE(std::isnan(v));
  EXPECT_TRUE(ParsePgNumber("-Infinity", &v));
  EXPECT_TRUE(std::isinf(v));
  EXPECT_FALSE(ParsePgNumber("12 kB", &v));
  EXPECT_FALSE(ParsePgNumber("", &v));
}

}  // namespace
}  // namespace pgdr::collect

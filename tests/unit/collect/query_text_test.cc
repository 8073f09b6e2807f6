#include "collect/query_text.h"

#include <gtest/gtest.h>

#include <limits>

#include "pgdr/core/metric_set.h"

namespace pgdr::collect {
namespace {

config::QuerySpec Spec(const std::string& yaml) {
  auto q = config::ParseQueryFile(yaml, "q.yml", "t_");
  EXPECT_TRUE(q.ok()) << q.status().ToString();
  return (*q)[0];
}

const char* kSpec = R"(
q:
  query: x
  metrics:
    - db: {usage: LABEL, description: d}
    - size: {usage: GAUGE, name: t_size_bytes, scale: 1024, description: "Size, \"bytes\"."}
    - commits: {usage: COUNTER, name: t_commits_total, description: Commits.}
    - state: {usage: MAPPEDMETRIC, name: t_state, mapping: {open: 1, closed: 0}}
    - took: {usage: DURATION, name: t_took_seconds, scale: 0.001, description: Took.}
    - skip: {usage: DISCARD, description: d}
)";

// The reference: AppendQueryMetrics into families, then SerializeFamilies.
std::string Reference(const config::QuerySpec& spec, const TextTable& t, const core::Labels& base,
                      size_t max, SqlMetricsStats* stats) {
  core::MetricSet m;
  *stats = AppendQueryMetrics(spec, t, base, max, m);
  const SerializedFamilies text = SerializeFamilies(m.Take());
  return AssembleExposition({&text}, nullptr);
}

std::string Direct(QueryTextWriter& w, const config::QuerySpec& spec, const TextTable& t,
                   const core::Labels& base, size_t max, SqlMetricsStats* stats,
                   SerializedFamilies& out) {
  *stats = w.Write(spec, TextTableView(t), base, max, out);
  return AssembleExposition({&out}, nullptr);
}

void ExpectSame(const config::QuerySpec& spec, const TextTable& t, const core::Labels& base,
                size_t max) {
  SqlMetricsStats want;
  SqlMetricsStats got;
  QueryTextWriter w;
  SerializedFamilies out;
  const std::string ref = Reference(spec, t, base, max, &want);
  EXPECT_EQ(Direct(w, spec, t, base, max, &got, out), ref);
  EXPECT_EQ(got.samples, want.samples);
  EXPECT_EQ(got.duplicates, want.duplicates);
  EXPECT_EQ(got.over_limit, want.over_limit);
  EXPECT_EQ(got.unparsable, want.unparsable);
  // Written again into the same output (the steady state): the same bytes.
  EXPECT_EQ(Direct(w, spec, t, base, max, &got, out), ref);
}

TEST(QueryTextWriter, WritesWhatTheFamiliesWouldSerialiseTo) {
  TextTable t;
  t.columns = {"db", "size", "commits", "state", "took", "skip"};
  t.rows = {{"app", "2", "10", "open", "1.5", "zzz"},
            {"a \"q\"\nnl \\ b", std::nullopt, "f", "closed", "NaN", "1"},
            {"inf", "Infinity", "-Infinity", "other", "12345678901234567890", "x"},
            {"text", "not a number", "1e300", "open", "0.1", "x"}};
  ExpectSame(Spec(kSpec), t, {{"cluster", "c"}, {"member", "m1"}}, 100);
  ExpectSame(Spec(kSpec), t, {}, 100);
}

TEST(QueryTextWriter, DropsRepeatedLabelSetsAndCountsTheLimitAsBefore) {
  TextTable t;
  t.columns = {"db", "commits", "size"};
  for (int i = 0; i < 12; ++i) {
    // Row 0 has no size, row 5 (same db) has one: row 5's size is not a duplicate.
    t.rows.push_back(
        {std::to_string(i % 5), "1", i == 0 ? std::nullopt : std::optional<std::string>("3")});
  }
  t.rows.push_back({std::nullopt, "1", "1"});  // NULL label: the same identity as ""
  t.rows.push_back({"", "2", "2"});
  for (size_t max : {3, 7, 100}) ExpectSame(Spec(kSpec), t, {{"cluster", "c"}}, max);
}

TEST(QueryTextWriter, TargetLabelsWinOverColumnsOfTheSameName) {
  const auto spec =
      Spec("q:\n  query: x\n  metrics:\n    - cluster: {usage: LABEL}\n    - v: {usage: GAUGE}\n");
  TextTable t{{"cluster", "v"}, {{"evil", "1"}, {"other", "2"}}};
  ExpectSame(spec, t, {{"cluster", "prod"}}, 10);
  SqlMetricsStats s;
  QueryTextWriter w;
  SerializedFamilies out;
  EXPECT_EQ(Direct(w, spec, t, {{"cluster", "prod"}}, 10, &s, out),
            "# HELP t_q_v v\n# TYPE t_q_v gauge\nt_q_v{cluster=\"prod\"} 1\n");
  EXPECT_EQ(s.duplicates, 1u);
}

TEST(QueryTextWriter, HidesEmptySlotsAndMissingColumns) {
  TextTable t{{"db", "commits"}, {{"a", std::nullopt}}};
  ExpectSame(Spec(kSpec), t, {}, 10);
  QueryTextWriter w;
  SerializedFamilies out;
  SqlMetricsStats s;
  EXPECT_EQ(Direct(w, Spec(kSpec), t, {}, 10, &s, out), "");
  ASSERT_EQ(out.size(), 1u);  // only the columns the result has
  EXPECT_TRUE(out[0].hidden);
  TextTable none{{"db", "commits"}, {}};
  ExpectSame(Spec(kSpec), none, {}, 10);
}

TEST(QueryTextWriter, LeavesMetricNamesSharedByColumnsToAppendQueryMetrics) {
  EXPECT_TRUE(QueryTextWriter::Handles(Spec(kSpec)));
  EXPECT_FALSE(QueryTextWriter::Handles(
      Spec("q:\n  query: x\n  metrics:\n    - a: {usage: GAUGE, name: t_x}\n"
           "    - b: {usage: GAUGE, name: t_x}\n")));
}

TEST(FamiliesFromText, ReadsBackWhatWasSerialised) {
  core::MetricSet m;
  m.Gauge("g", "Help \\ text.", {{"a", "x \"q\"\nnl \\ b"}, {"b", ""}}, 1.5);
  m.Gauge("g", "Help \\ text.", {}, std::numeric_limits<double>::infinity());
  m.Counter("c_total", "", {{"a", "1"}}, 1e21);
  m.Gauge("n", "N.", {{"a", "1"}}, std::numeric_limits<double>::quiet_NaN());
  prometheus::ClientMetric::Histogram h;
  h.sample_count = 1;
  h.sample_sum = 1;
  h.bucket = {{1, std::numeric_limits<double>::infinity()}};
  m.Histogram("h", "H.", {}, h);
  const auto families = m.Take();
  const SerializedFamilies text = SerializeFamilies(families);
  const auto back = FamiliesFromText(text);
  ASSERT_EQ(back.size(), 3u);  // the histogram is skipped
  // Serialised again: the same bytes as the original (histogram aside).
  std::vector<prometheus::MetricFamily> no_histogram;
  for (const auto& f : families) {
    if (f.type != prometheus::MetricType::Histogram) no_histogram.push_back(f);
  }
  const SerializedFamilies want = SerializeFamilies(no_histogram);
  const SerializedFamilies again = SerializeFamilies(back);
  EXPECT_EQ(AssembleExposition({&again}, nullptr), AssembleExposition({&want}, nullptr));
  EXPECT_EQ(back[1].help, "Help \\ text.");
  EXPECT_EQ(back[1].metric[0].label[0].value, "x \"q\"\nnl \\ b");
  EXPECT_EQ(back[0].metric[0].counter.value, 1e21);
}

}  // namespace
}  // namespace pgdr::collect

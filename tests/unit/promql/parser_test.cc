#include "pgdr/promql/parser.h"

#include <gtest/gtest.h>

#include "pgdr/promql/ast.h"
#include "pgdr/promql/engine.h"

namespace pgdr::promql {
namespace {

std::string Error(std::string_view q) {
  auto r = ParseExpr(q);
  return r.ok() ? "" : r.status().message();
}

TEST(Parser, SelectedMetricNames) {
  auto names = [](std::string_view q) {
    auto e = ParseExpr(q);
    EXPECT_TRUE(e.ok()) << q;
    return SelectedMetricNames(**e);
  };
  using Names = std::set<std::string>;
  EXPECT_EQ(names("1 + 2"), Names{});
  EXPECT_EQ(names("sum by (c) (rate(a_total[5m])) / on(c) group_left b"), (Names{"a_total", "b"}));
  EXPECT_EQ(names("histogram_quantile(0.9, sum by (le) (rate(h_bucket[1m])))"), Names{"h_bucket"});
  EXPECT_EQ(names("max_over_time((x offset 1m)[10m:1m]) and absent(y)"), (Names{"x", "y"}));
  EXPECT_EQ(names("topk(scalar(k), {__name__=\"v\", job=\"j\"})"), (Names{"k", "v"}));
  EXPECT_EQ(names("-z"), Names{"z"});
  EXPECT_FALSE(names("{__name__=~\"pg_.*\"}").has_value());
  EXPECT_FALSE(names("x + on() count({job=\"a\"})").has_value());
}

TEST(Parser, ErrorsCarryPositions) {
  EXPECT_EQ(Error("test +"), "1:7: parse error: unexpected end of input");
  EXPECT_EQ(Error("foo{a=\"b\"} offset"),
            "1:18: parse error: unexpected end of input; expected duration");
  EXPECT_EQ(Error("nosuchfn(x)"), "1:1: parse error: unknown function with name \"nosuchfn\"");
  EXPECT_EQ(Error("{a=\"\"}"),
            "1:1: parse error: vector selector must contain at least one non-empty matcher");
  EXPECT_EQ(Error("1 > 2"), "1:3: parse error: comparisons between scalars must use BOOL modifier");
  EXPECT_EQ(Error("rate(x)"),
            "1:6: parse error: expected type range vector in call to function \"rate\", got "
            "instant vector");
  EXPECT_NE(Error("x{a=~\"(\"}"), "");
}

TEST(Parser, UnsupportedConstructsAreNamed) {
  EXPECT_NE(
      Error("x[5m] + 1").find("binary expression must contain only scalar and instant vector"),
      std::string::npos);
  EXPECT_NE(Error("(x)[5m]").find("ranges only allowed for vector selectors"), std::string::npos);
  EXPECT_NE(Error("1 offset 5m").find("offset modifier must be preceded"), std::string::npos);
}

TEST(Parser, DeepNestingIsBounded) {
  std::string deep(100000, '(');
  deep += "1";
  deep += std::string(100000, ')');
  EXPECT_NE(Error(deep).find("maximum depth"), std::string::npos);
  std::string chain = "x";
  for (int i = 0; i < 5000; ++i) chain += " + x";
  EXPECT_NE(Error(chain).find("maximum depth"), std::string::npos);
  std::string ok = "x";
  for (int i = 0; i < 200; ++i) ok += " + x";
  EXPECT_EQ(Error(ok), "");
}

TEST(Parser, PrinterMatchesPrometheus) {
  auto expr = ParseExpr(
      "sum by(job)(rate(http_requests_total{code=~\"5..\"}[5m] offset 1h)) / on(job) "
      "group_left(team) team_info > bool 1e6");
  ASSERT_TRUE(expr.ok()) << expr.status().message();
  EXPECT_EQ(ToString(**expr),
            "sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m] offset 1h)) / on (job) "
            "group_left (team) team_info > bool 1e+06");
  auto sub = ParseExpr("max_over_time(x[1w:90d] @ 100)");
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(ToString(**sub), "max_over_time(x[1w:90d] @ 100.000)");
}

TEST(Parser, SeriesDescriptions) {
  auto d = ParseSeriesDescription("m{a=\"b\"} 1+2x2 _ stale -1x1 _x2");
  ASSERT_TRUE(d.ok()) << d.status().message();
  ASSERT_EQ(d->values.size(), 9u);
  EXPECT_EQ(*d->values[2], 5);
  EXPECT_FALSE(d->values[3].has_value());
  EXPECT_TRUE(tsdb::IsStaleNaN(*d->values[4]));
  EXPECT_EQ(*d->values[6], -1);
}

TEST(Engine, EvaluatesOverAStorage) {
  tsdb::Tsdb db;
  auto labels = tsdb::MakeLabels({{"__name__", "c"}, {"job", "a"}});
  for (int i = 0; i <= 10; ++i) db.Append(labels, i * 15'000, i * 15.0);
  Engine engine;
  auto v = engine.Query(db, "rate(c[1m])", 150'000);
  ASSERT_TRUE(v.ok()) << v.status().message();
  const auto& vec = std::get<Vector>(*v);
  ASSERT_EQ(vec.size(), 1u);
  EXPECT_DOUBLE_EQ(vec[0].value, 1.0);
  EXPECT_EQ(tsdb::LabelsToString(vec[0].metric), "{job=\"a\"}");
  auto bad = engine.Query(db, "label_replace(c, \"x\", \"\", \"job\", \"(\")", 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "invalid regular expression in label_replace(): (");
}

}  // namespace
}  // namespace pgdr::promql

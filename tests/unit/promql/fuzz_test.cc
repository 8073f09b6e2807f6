// Random token soup through the parser and the engine: errors are fine,
// crashes, hangs and sanitizer reports are not.
#include <gtest/gtest.h>

#include <random>

#include "pgdr/promql/engine.h"
#include "pgdr/promql/parser.h"

namespace pgdr::promql {
namespace {

TEST(Fuzz, ParserAndEngineNeverCrash) {
  static const char* kFragments[] = {"m",
                                     "n{a=\"1\"}",
                                     "{__name__=~\"m|n\"}",
                                     "(",
                                     ")",
                                     "[5m]",
                                     "[5m:1m]",
                                     "[1m:]",
                                     " offset 1m",
                                     " @ 10",
                                     " @ end()",
                                     "+",
                                     "-",
                                     "*",
                                     "/",
                                     "%",
                                     "^",
                                     " and ",
                                     " or ",
                                     " unless ",
                                     " == ",
                                     " > bool ",
                                     "<",
                                     " on(a) ",
                                     " ignoring(a) ",
                                     " group_left ",
                                     " group_right(b) ",
                                     "sum",
                                     "topk(2,",
                                     "count_values(\"x\",",
                                     "quantile(0.5,",
                                     " by (a) ",
                                     " without (a) ",
                                     "rate(",
                                     "label_replace(",
                                     "histogram_quantile(",
                                     "abs(",
                                     "time()",
                                     "vector(",
                                     "scalar(",
                                     "absent(",
                                     "1",
                                     "0.5",
                                     "-Inf",
                                     "NaN",
                                     "\"s\"",
                                     ",",
                                     "le",
                                     "sort_desc(",
                                     "holt_winters(",
                                     "predict_linear(",
                                     "round(",
                                     "clamp(",
                                     "year(",
                                     "{",
                                     "}",
                                     "=~",
                                     "\"(\"",
                                     "#c\n",
                                     "'\\x41'",
                                     "`r`",
                                     "1e400"};
  tsdb::Tsdb db;
  for (int i = 0; i < 50; ++i) {
    db.Append(tsdb::MakeLabels(
                  {{"__name__", "m"}, {"a", std::to_string(i % 3)}, {"le", std::to_string(i % 4)}}),
              i * 10'000, i);
    db.Append(tsdb::MakeLabels({{"__name__", "n"}, {"a", "1"}, {"b", std::to_string(i % 2)}}),
              i * 10'000, -i);
  }
  EngineOptions options;
  options.timeout_ms = 200;
  Engine engine(options);
  std::mt19937 rng(42);
  int parsed = 0;
  int evaluated = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string q;
    int n = 1 + static_cast<int>(rng() % 12);
    for (int k = 0; k < n; ++k) q += kFragments[rng() % std::size(kFragments)];
    auto expr = ParseExpr(q);
    if (!expr.ok()) continue;
    ++parsed;
    auto v = engine.Eval(db, **expr, 300'000);
    (void)ToString(**expr);
    if (v.ok()) ++evaluated;
  }
  EXPECT_GT(parsed, 100);
  RecordProperty("evaluated", evaluated);
}

}  // namespace
}  // namespace pgdr::promql

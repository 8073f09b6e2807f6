// The PromQL engine: instant evaluation of a parsed expression over a
// tsdb::Storage, with Prometheus 2.42 semantics (5m lookback, staleness
// markers, offset and @, subqueries evaluated step by step).
//
// Thread-safety: an Engine is immutable; Eval may run concurrently on
// several threads (each call keeps its own state). The storage must outlive
// the call.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "pgdr/core/status.h"
#include "pgdr/promql/ast.h"
#include "pgdr/tsdb/tsdb.h"

namespace pgdr::promql {

struct Sample {
  tsdb::Labels metric;
  double value = 0;
};
using Vector = std::vector<Sample>;

struct Series {
  tsdb::Labels metric;
  std::vector<tsdb::Sample> points;
};
using Matrix = std::vector<Series>;

struct Scalar {
  double value = 0;
};
struct String {
  std::string value;
};

using Value = std::variant<Scalar, Vector, Matrix, String>;

struct EngineOptions {
  int64_t lookback_delta_ms = int64_t{5} * 60 * 1000;     // Prometheus default 5m
  int64_t default_subquery_step_ms = int64_t{60} * 1000;  // step of `x[5m:]`; the eval interval
  size_t max_samples = 50'000'000;                        // per query, as --query.max-samples
  int64_t timeout_ms = int64_t{2} * 60 * 1000;            // per query, as --query.timeout (2m)
};

class Engine {
 public:
  explicit Engine(EngineOptions options = {}) : options_(options) {}

  // Evaluates `expr` at `t_ms` (also the start() and end() of @).
  core::Result<Value> Eval(const tsdb::Storage& storage, const Expr& expr, int64_t t_ms) const;
  // Parses and evaluates.
  core::Result<Value> Query(const tsdb::Storage& storage, std::string_view query,
                            int64_t t_ms) const;

  const EngineOptions& options() const { return options_; }

 private:
  EngineOptions options_;
};

}  // namespace pgdr::promql

// The evaluator (private to the module): one query's state. Evaluation
// errors are thrown as EvalError inside the module and returned as a Status
// by Engine::Eval.
#pragma once

#include <chrono>
#include <string>

#include "pgdr/promql/engine.h"
#include "pgdr/promql/parser.h"

namespace pgdr::promql {

struct EvalError {
  std::string message;
};
[[noreturn]] void ThrowEval(std::string message);

// A range vector argument: samples (stale markers removed) and the window.
struct RangeArg {
  Matrix matrix;
  int64_t range_ms = 0;
  int64_t start = 0;  // window [start, end] in ms
  int64_t end = 0;
};

class Evaluator {
 public:
  Evaluator(const tsdb::Storage& storage, const EngineOptions& options, int64_t query_time)
      : storage_(storage),
        options_(options),
        query_time_(query_time),
        deadline_(std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(options.timeout_ms)) {}

  Value Eval(const Expr& e, int64_t ts);
  Vector EvalVector(const Expr& e, int64_t ts);
  double EvalScalar(const Expr& e, int64_t ts);
  std::string EvalString(const Expr& e, int64_t ts);
  RangeArg EvalRange(const Expr& e, int64_t ts);
  // The samples of an instant selector with their own timestamps (timestamp()).
  std::vector<std::pair<Sample, int64_t>> SelectInstant(const VectorSelector& vs, int64_t ts);

 private:
  int64_t RefTime(const AtModifier& at, int64_t offset_ms, int64_t ts) const;
  RangeArg EvalSubquery(const SubqueryExpr& sq, int64_t ts);
  void CountSamples(size_t n);
  void CheckDeadline() const;

  const tsdb::Storage& storage_;
  const EngineOptions& options_;
  const int64_t query_time_;
  const std::chrono::steady_clock::time_point deadline_;
  size_t samples_ = 0;
};

// Label helpers shared by the evaluation files.
tsdb::Labels DropMetricName(tsdb::Labels labels);
// Throws "vector cannot contain metrics with the same labelset" on duplicates.
void CheckDuplicateLabelsets(const Vector& v);

Vector EvalCall(Evaluator& ev, const Call& call, int64_t ts);
Value EvalBinary(Evaluator& ev, const BinaryExpr& bin, int64_t ts);
Vector EvalAggregate(Evaluator& ev, const AggregateExpr& agg, int64_t ts);
double EvalScalarCall(Evaluator& ev, const Call& call, int64_t ts);

}  // namespace pgdr::promql

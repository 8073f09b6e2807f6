// The evaluator's core: selectors, subqueries, unary minus, dispatch.
#include "pgdr/promql/engine.h"

#include <algorithm>
#include <unordered_map>

#include "promql/evaluator.h"

namespace pgdr::promql {

void ThrowEval(std::string message) { throw EvalError{std::move(message)}; }

tsdb::Labels DropMetricName(tsdb::Labels labels) {
  std::erase_if(labels, [](const tsdb::Label& l) { return l.name == tsdb::kMetricName; });
  return labels;
}

void CheckDuplicateLabelsets(const Vector& v) {
  if (v.size() < 2) return;
  std::unordered_map<std::string, int> seen;
  seen.reserve(v.size());
  for (const Sample& s : v) {
    if (!seen.emplace(tsdb::LabelsKey(s.metric), 0).second) {
      ThrowEval("vector cannot contain metrics with the same labelset");
    }
  }
}

int64_t Evaluator::RefTime(const AtModifier& at, int64_t offset_ms, int64_t ts) const {
  int64_t base = ts;
  switch (at.kind) {
    case AtModifier::Kind::kNone:
      break;
    case AtModifier::Kind::kTimestamp:
      base = at.t_ms;
      break;
    case AtModifier::Kind::kStart:
    case AtModifier::Kind::kEnd:
      base = query_time_;
      break;
  }
  return base - offset_ms;
}

void Evaluator::CheckDeadline() const {
  if (std::chrono::steady_clock::now() > deadline_) {
    ThrowEval("query timed out in expression evaluation");
  }
}

void Evaluator::CountSamples(size_t n) {
  CheckDeadline();
  samples_ += n;
  if (samples_ > options_.max_samples) {
    ThrowEval("query processing would load too many samples into memory in query execution");
  }
}

std::vector<std::pair<Sample, int64_t>> Evaluator::SelectInstant(const VectorSelector& vs,
                                                                 int64_t ts) {
  const int64_t ref = RefTime(vs.at, vs.offset_ms, ts);
  std::vector<tsdb::Series> series =
      storage_.Select(vs.matchers, ref - options_.lookback_delta_ms, ref);
  std::vector<std::pair<Sample, int64_t>> out;
  out.reserve(series.size());
  for (tsdb::Series& s : series) {
    const tsdb::Sample& last = s.samples.back();
    if (tsdb::IsStaleNaN(last.v)) continue;
    out.push_back({Sample{std::move(s.labels), last.v}, last.t});
  }
  CountSamples(out.size());
  return out;
}

RangeArg Evaluator::EvalSubquery(const SubqueryExpr& sq, int64_t ts) {
  const int64_t end = RefTime(sq.at, sq.offset_ms, ts);
  const int64_t step = sq.step_ms != 0 ? sq.step_ms : options_.default_subquery_step_ms;
  const int64_t bound = end - sq.range_ms;
  int64_t start = step * (bound / step);
  if (start < bound) start += step;
  RangeArg out;
  out.range_ms = sq.range_ms;
  out.start = bound;
  out.end = end;
  std::unordered_map<std::string, size_t> index;
  for (int64_t t = start; t <= end; t += step) {
    CheckDeadline();
    Vector v = EvalVector(*sq.expr, t);
    for (Sample& s : v) {
      auto [it, inserted] = index.emplace(tsdb::LabelsKey(s.metric), out.matrix.size());
      if (inserted) out.matrix.push_back(Series{std::move(s.metric), {}});
      out.matrix[it->second].points.push_back(tsdb::Sample{t, s.value});
    }
    CountSamples(v.size());
  }
  return out;
}

RangeArg Evaluator::EvalRange(const Expr& e, int64_t ts) {
  const Expr* inner = &e;
  while (inner->kind == NodeKind::kParen) inner = static_cast<const ParenExpr*>(inner)->expr.get();
  if (inner->kind == NodeKind::kSubquery) {
    return EvalSubquery(static_cast<const SubqueryExpr&>(*inner), ts);
  }
  if (inner->kind != NodeKind::kMatrixSelector) ThrowEval("expected a range vector");
  const auto& ms = static_cast<const MatrixSelector&>(*inner);
  const VectorSelector& vs = *ms.selector;
  RangeArg out;
  out.range_ms = ms.range_ms;
  out.end = RefTime(vs.at, vs.offset_ms, ts);
  out.start = out.end - ms.range_ms;
  std::vector<tsdb::Series> series = storage_.Select(vs.matchers, out.start, out.end);
  size_t total = 0;
  for (tsdb::Series& s : series) {
    std::erase_if(s.samples, [](const tsdb::Sample& x) { return tsdb::IsStaleNaN(x.v); });
    if (s.samples.empty()) continue;
    total += s.samples.size();
    out.matrix.push_back(Series{std::move(s.labels), std::move(s.samples)});
  }
  CountSamples(total);
  return out;
}

Vector Evaluator::EvalVector(const Expr& e, int64_t ts) {
  Value v = Eval(e, ts);
  if (auto* vec = std::get_if<Vector>(&v)) return std::move(*vec);
  ThrowEval(std::string("expected instant vector, got ") +
            (std::holds_alternative<Scalar>(v) ? "scalar" : "another type"));
}

double Evaluator::EvalScalar(const Expr& e, int64_t ts) {
  Value v = Eval(e, ts);
  if (auto* s = std::get_if<Scalar>(&v)) return s->value;
  ThrowEval("expected scalar");
}

std::string Evaluator::EvalString(const Expr& e, int64_t ts) {
  Value v = Eval(e, ts);
  if (auto* s = std::get_if<String>(&v)) return s->value;
  ThrowEval("expected string");
}

Value Evaluator::Eval(const Expr& e, int64_t ts) {
  switch (e.kind) {
    case NodeKind::kNumber:
      return Scalar{static_cast<const NumberLiteral&>(e).value};
    case NodeKind::kString:
      return String{static_cast<const StringLiteral&>(e).value};
    case NodeKind::kParen:
      return Eval(*static_cast<const ParenExpr&>(e).expr, ts);
    case NodeKind::kVectorSelector: {
      Vector out;
      for (auto& [sample, t] : SelectInstant(static_cast<const VectorSelector&>(e), ts)) {
        out.push_back(std::move(sample));
      }
      return out;
    }
    case NodeKind::kMatrixSelector:
    case NodeKind::kSubquery:
      return EvalRange(e, ts).matrix;
    case NodeKind::kUnary: {
      const auto& u = static_cast<const UnaryExpr&>(e);
      Value v = Eval(*u.expr, ts);
      if (!u.negate) return v;
      if (auto* s = std::get_if<Scalar>(&v)) return Scalar{-s->value};
      Vector vec = std::get<Vector>(std::move(v));
      for (Sample& s : vec) {
        s.metric = DropMetricName(std::move(s.metric));
        s.value = -s.value;
      }
      CheckDuplicateLabelsets(vec);
      return vec;
    }
    case NodeKind::kBinary:
      return EvalBinary(*this, static_cast<const BinaryExpr&>(e), ts);
    case NodeKind::kCall: {
      const auto& call = static_cast<const Call&>(e);
      if (call.func->return_type == ValueType::kScalar)
        return Scalar{EvalScalarCall(*this, call, ts)};
      return EvalCall(*this, call, ts);
    }
    case NodeKind::kAggregate:
      return EvalAggregate(*this, static_cast<const AggregateExpr&>(e), ts);
  }
  ThrowEval("unknown expression");
}

core::Result<Value> Engine::Eval(const tsdb::Storage& storage, const Expr& expr,
                                 int64_t t_ms) const {
  Evaluator ev(storage, options_, t_ms);
  try {
    return ev.Eval(expr, t_ms);
  } catch (const EvalError& err) {
    return core::Status::InvalidArgument(err.message);
  }
}

core::Result<Value> Engine::Query(const tsdb::Storage& storage, std::string_view query,
                                  int64_t t_ms) const {
  auto expr = ParseExpr(query);
  if (!expr.ok()) return expr.status();
  return Eval(storage, **expr, t_ms);
}

}  // namespace pgdr::promql

// Functions over range vectors (private): rate, increase, delta, the
// *_over_time family, deriv, predict_linear, holt_winters, changes, resets.
#pragma once

#include <vector>

#include "promql/evaluator.h"

namespace pgdr::promql {

bool IsRangeFunction(Func f);

// Applies `f` to every series of `range`; `scalars` are the other arguments
// in order. Output labels drop the metric name (except last_over_time).
Vector ApplyRangeFunction(Func f, const RangeArg& range, const std::vector<double>& scalars,
                          int64_t ts);

}  // namespace pgdr::promql

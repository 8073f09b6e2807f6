// Function signatures (the parser's side of functions; implementations are
// in functions.cc).

#include "pgdr/promql/parser.h"

namespace pgdr::promql {
namespace {

constexpr ValueType S = ValueType::kScalar;
constexpr ValueType V = ValueType::kVector;
constexpr ValueType M = ValueType::kMatrix;
constexpr ValueType Str = ValueType::kString;

const std::vector<FunctionSpec>& Specs() {
  static const std::vector<FunctionSpec> kSpecs = {
      {"abs", Func::kAbs, {V}, 0, V},
      {"absent", Func::kAbsent, {V}, 0, V},
      {"absent_over_time", Func::kAbsentOverTime, {M}, 0, V},
      {"acos", Func::kAcos, {V}, 0, V},
      {"acosh", Func::kAcosh, {V}, 0, V},
      {"asin", Func::kAsin, {V}, 0, V},
      {"asinh", Func::kAsinh, {V}, 0, V},
      {"atan", Func::kAtan, {V}, 0, V},
      {"atanh", Func::kAtanh, {V}, 0, V},
      {"avg_over_time", Func::kAvgOverTime, {M}, 0, V},
      {"ceil", Func::kCeil, {V}, 0, V},
      {"changes", Func::kChanges, {M}, 0, V},
      {"clamp", Func::kClamp, {V, S, S}, 0, V},
      {"clamp_max", Func::kClampMax, {V, S}, 0, V},
      {"clamp_min", Func::kClampMin, {V, S}, 0, V},
      {"cos", Func::kCos, {V}, 0, V},
      {"cosh", Func::kCosh, {V}, 0, V},
      {"count_over_time", Func::kCountOverTime, {M}, 0, V},
      {"days_in_month", Func::kDaysInMonth, {V}, 1, V},
      {"day_of_month", Func::kDayOfMonth, {V}, 1, V},
      {"day_of_week", Func::kDayOfWeek, {V}, 1, V},
      {"day_of_year", Func::kDayOfYear, {V}, 1, V},
      {"deg", Func::kDeg, {V}, 0, V},
      {"delta", Func::kDelta, {M}, 0, V},
      {"deriv", Func::kDeriv, {M}, 0, V},
      {"exp", Func::kExp, {V}, 0, V},
      {"floor", Func::kFloor, {V}, 0, V},
      {"histogram_count", Func::kHistogramCount, {V}, 0, V},
      {"histogram_fraction", Func::kHistogramFraction, {S, S, V}, 0, V},
      {"histogram_quantile", Func::kHistogramQuantile, {S, V}, 0, V},
      {"histogram_sum", Func::kHistogramSum, {V}, 0, V},
      {"holt_winters", Func::kHoltWinters, {M, S, S}, 0, V},
      {"hour", Func::kHour, {V}, 1, V},
      {"idelta", Func::kIdelta, {M}, 0, V},
      {"increase", Func::kIncrease, {M}, 0, V},
      {"irate", Func::kIrate, {M}, 0, V},
      {"label_replace", Func::kLabelReplace, {V, Str, Str, Str, Str}, 0, V},
      {"label_join", Func::kLabelJoin, {V, Str, Str, Str}, -1, V},
      {"last_over_time", Func::kLastOverTime, {M}, 0, V},
      {"ln", Func::kLn, {V}, 0, V},
      {"log10", Func::kLog10, {V}, 0, V},
      {"log2", Func::kLog2, {V}, 0, V},
      {"max_over_time", Func::kMaxOverTime, {M}, 0, V},
      {"min_over_time", Func::kMinOverTime, {M}, 0, V},
      {"minute", Func::kMinute, {V}, 1, V},
      {"month", Func::kMonth, {V}, 1, V},
      {"pi", Func::kPi, {}, 0, S},
      {"predict_linear", Func::kPredictLinear, {M, S}, 0, V},
      {"present_over_time", Func::kPresentOverTime, {M}, 0, V},
      {"quantile_over_time", Func::kQuantileOverTime, {S, M}, 0, V},
      {"rad", Func::kRad, {V}, 0, V},
      {"rate", Func::kRate, {M}, 0, V},
      {"resets", Func::kResets, {M}, 0, V},
      {"round", Func::kRound, {V, S}, 1, V},
      {"scalar", Func::kScalar, {V}, 0, S},
      {"sgn", Func::kSgn, {V}, 0, V},
      {"sin", Func::kSin, {V}, 0, V},
      {"sinh", Func::kSinh, {V}, 0, V},
      {"sort", Func::kSort, {V}, 0, V},
      {"sort_desc", Func::kSortDesc, {V}, 0, V},
      {"sqrt", Func::kSqrt, {V}, 0, V},
      {"stddev_over_time", Func::kStddevOverTime, {M}, 0, V},
      {"stdvar_over_time", Func::kStdvarOverTime, {M}, 0, V},
      {"sum_over_time", Func::kSumOverTime, {M}, 0, V},
      {"tan", Func::kTan, {V}, 0, V},
      {"tanh", Func::kTanh, {V}, 0, V},
      {"time", Func::kTime, {}, 0, S},
      {"timestamp", Func::kTimestamp, {V}, 0, V},
      {"vector", Func::kVector, {S}, 0, V},
      {"year", Func::kYear, {V}, 1, V},
  };
  return kSpecs;
}

}  // namespace

const FunctionSpec* LookupFunction(std::string_view name) {
  for (const FunctionSpec& spec : Specs()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

}  // namespace pgdr::promql

// Parsing PromQL: expressions, metric selectors and the series notation of
// test files. Errors read "line:col: parse error: msg" as in Prometheus.
//
// Thread-safety: all functions are pure and reentrant.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "pgdr/core/status.h"
#include "pgdr/promql/ast.h"
#include "pgdr/tsdb/tsdb.h"

namespace pgdr::promql {

// Deeper expressions are refused at parse time so that neither the parser
// nor the (recursive) engine can overflow the stack.
inline constexpr int kMaxExprDepth = 500;

enum class Func {
  kAbs,
  kAbsent,
  kAbsentOverTime,
  kAcos,
  kAcosh,
  kAsin,
  kAsinh,
  kAtan,
  kAtanh,
  kAvgOverTime,
  kCeil,
  kChanges,
  kClamp,
  kClampMax,
  kClampMin,
  kCos,
  kCosh,
  kCountOverTime,
  kDaysInMonth,
  kDayOfMonth,
  kDayOfWeek,
  kDayOfYear,
  kDeg,
  kDelta,
  kDeriv,
  kExp,
  kFloor,
  kHistogramCount,
  kHistogramFraction,
  kHistogramQuantile,
  kHistogramSum,
  kHoltWinters,
  kHour,
  kIdelta,
  kIncrease,
  kIrate,
  kLabelReplace,
  kLabelJoin,
  kLastOverTime,
  kLn,
  kLog10,
  kLog2,
  kMaxOverTime,
  kMinOverTime,
  kMinute,
  kMonth,
  kPi,
  kPredictLinear,
  kPresentOverTime,
  kQuantileOverTime,
  kRad,
  kRate,
  kResets,
  kRound,
  kScalar,
  kSgn,
  kSin,
  kSinh,
  kSort,
  kSortDesc,
  kSqrt,
  kStddevOverTime,
  kStdvarOverTime,
  kSumOverTime,
  kTan,
  kTanh,
  kTime,
  kTimestamp,
  kVector,
  kYear,
};

// A function's signature. `variadic`: 0 = exactly arg_types; N > 0 = the
// last argument optional up to N more; -1 = unlimited repetitions of the last.
struct FunctionSpec {
  std::string_view name;
  Func id;
  std::vector<ValueType> arg_types;
  int variadic;
  ValueType return_type;
};

// nullptr for an unknown name.
const FunctionSpec* LookupFunction(std::string_view name);

core::Result<ExprPtr> ParseExpr(std::string_view input);

// One series of a test file: `name{a="b"} 1+2x3 _ stale 4`. Omitted
// values ('_') are nullopt; `stale` is tsdb::StaleNaN().
struct SeriesDescription {
  tsdb::Labels labels;
  std::vector<std::optional<double>> values;
};
core::Result<SeriesDescription> ParseSeriesDescription(std::string_view input);

// Go's strconv.Unquote for "..", '..' and `..` literals (PromQL strings,
// template strings): \x, \u, \U and octal escapes; unknown ones are errors.
core::Result<std::string> Unquote(std::string_view quoted);

// Prometheus's model.Duration.String(): "1w", "1h30m", "90d", "250ms", "0s".
std::string FormatDurationMs(int64_t ms);

// Go's fmt "%v" of a float64 ("1e+06", "0.5", "+Inf", "NaN").
std::string FormatFloat(double v);
// Go's strconv.FormatFloat(v, 'e' or 'E', -1, 64): "1e+00", "6.1E+01" (the
// Prometheus API's alert values and promtool's messages).
std::string FormatFloatExponent(double v, char e);

}  // namespace pgdr::promql

// Range-vector functions with Prometheus 2.42's arithmetic (extrapolated
// rate, compensated sums, Welford variance, least-squares regression), so
// that results round exactly as Prometheus's do.
#include "promql/range_functions.h"

#include <cmath>
#include <limits>
#include <optional>

#include "promql/functions_util.h"

namespace pgdr::promql {
namespace {

using Points = std::vector<tsdb::Sample>;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Neumaier's compensated summation, as Prometheus's kahanSumInc; the
// compensation is dropped once the sum is infinite (else Inf - Inf = NaN).
void KahanAdd(double inc, double& sum, double& c) {
  const double t = sum + inc;
  if (std::isinf(t)) {
    c = 0;
  } else if (std::fabs(sum) >= std::fabs(inc)) {
    c += (sum - t) + inc;
  } else {
    c += (inc - t) + sum;
  }
  sum = t;
}

std::optional<double> ExtrapolatedRate(const Points& p, const RangeArg& range, bool counter,
                                       bool rate) {
  if (p.size() < 2) return std::nullopt;
  double result = p.back().v - p.front().v;
  if (counter) {
    double last = 0;
    for (const auto& s : p) {
      if (s.v < last) result += last;
      last = s.v;
    }
  }
  double to_start = static_cast<double>(p.front().t - range.start) / 1000;
  double to_end = static_cast<double>(range.end - p.back().t) / 1000;
  double sampled = static_cast<double>(p.back().t - p.front().t) / 1000;
  double avg_step = sampled / static_cast<double>(p.size() - 1);
  if (counter && result > 0 && p.front().v >= 0) {
    double to_zero = sampled * (p.front().v / result);
    if (to_zero < to_start) to_start = to_zero;
  }
  double threshold = avg_step * 1.1;
  double interval = sampled;
  interval += to_start < threshold ? to_start : avg_step / 2;
  interval += to_end < threshold ? to_end : avg_step / 2;
  // The factor first, as Prometheus does: the rounding then matches exactly.
  double factor = interval / sampled;
  if (rate) factor /= static_cast<double>(range.range_ms) / 1000;
  return result * factor;
}

std::optional<double> InstantValue(const Points& p, bool rate) {
  if (p.size() < 2) return std::nullopt;
  const auto& last = p[p.size() - 1];
  const auto& prev = p[p.size() - 2];
  double result = (rate && last.v < prev.v) ? last.v : last.v - prev.v;
  int64_t interval = last.t - prev.t;
  if (interval == 0) return std::nullopt;
  if (rate) result /= static_cast<double>(interval) / 1000;
  return result;
}

std::pair<double, double> LinearRegression(const Points& p, int64_t intercept_time) {
  double n = 0, sum_x = 0, sum_y = 0, sum_xy = 0, sum_x2 = 0;
  double c_x = 0, c_y = 0, c_xy = 0, c_x2 = 0;
  const double init_y = p[0].v;
  bool const_y = true;
  for (size_t i = 0; i < p.size(); ++i) {
    if (const_y && i > 0 && p[i].v != init_y) const_y = false;
    n += 1;
    double x = static_cast<double>(p[i].t - intercept_time) / 1e3;
    KahanAdd(x, sum_x, c_x);
    KahanAdd(p[i].v, sum_y, c_y);
    KahanAdd(x * p[i].v, sum_xy, c_xy);
    KahanAdd(x * x, sum_x2, c_x2);
  }
  if (const_y) {
    if (std::isinf(init_y)) return {kNaN, kNaN};
    return {0, init_y};
  }
  sum_x += c_x;
  sum_y += c_y;
  sum_xy += c_xy;
  sum_x2 += c_x2;
  double cov_xy = sum_xy - sum_x * sum_y / n;
  double var_x = sum_x2 - sum_x * sum_x / n;
  double slope = cov_xy / var_x;
  double intercept = sum_y / n - slope * sum_x / n;
  return {slope, intercept};
}

double HoltWinters(const Points& p, double sf, double tf) {
  double s0 = 0;
  double s1 = p[0].v;
  double b = p[1].v - p[0].v;
  for (size_t i = 1; i < p.size(); ++i) {
    double x = sf * p[i].v;
    if (i > 1) b = tf * (s1 - s0) + (1 - tf) * b;
    double y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  return s1;
}

std::optional<double> Apply(Func f, const Points& p, const RangeArg& range,
                            const std::vector<double>& scalars, int64_t ts) {
  switch (f) {
    case Func::kRate:
      return ExtrapolatedRate(p, range, true, true);
    case Func::kIncrease:
      return ExtrapolatedRate(p, range, true, false);
    case Func::kDelta:
      return ExtrapolatedRate(p, range, false, false);
    case Func::kIrate:
      return InstantValue(p, true);
    case Func::kIdelta:
      return InstantValue(p, false);
    case Func::kDeriv:
      if (p.size() < 2) return std::nullopt;
      return LinearRegression(p, p[0].t).first;
    case Func::kPredictLinear: {
      if (p.size() < 2) return std::nullopt;
      auto [slope, intercept] = LinearRegression(p, ts);
      return slope * scalars[0] + intercept;
    }
    case Func::kHoltWinters: {
      double sf = scalars[0];
      double tf = scalars[1];
      if (sf <= 0 || sf >= 1) {
        ThrowEval("invalid smoothing factor. Expected: 0 < sf < 1, got: " + std::to_string(sf));
      }
      if (tf <= 0 || tf >= 1) {
        ThrowEval("invalid trend factor. Expected: 0 < tf < 1, got: " + std::to_string(tf));
      }
      if (p.size() < 2) return std::nullopt;
      return HoltWinters(p, sf, tf);
    }
    case Func::kChanges: {
      double changes = 0;
      for (size_t i = 1; i < p.size(); ++i) {
        double cur = p[i].v, prev = p[i - 1].v;
        if (cur != prev && !(std::isnan(cur) && std::isnan(prev))) ++changes;
      }
      return changes;
    }
    case Func::kResets: {
      double resets = 0;
      for (size_t i = 1; i < p.size(); ++i) {
        if (p[i].v < p[i - 1].v) ++resets;
      }
      return resets;
    }
    case Func::kAvgOverTime: {
      double mean = 0, c = 0, count = 0;
      for (const auto& s : p) {
        count++;
        if (std::isinf(mean)) {
          if (std::isinf(s.v) && (mean > 0) == (s.v > 0)) continue;
          if (!std::isinf(s.v) && !std::isnan(s.v)) continue;
        }
        KahanAdd(s.v / count - mean / count, mean, c);
      }
      return std::isinf(mean) ? mean : mean + c;
    }
    case Func::kSumOverTime: {
      double sum = 0, c = 0;
      for (const auto& s : p) KahanAdd(s.v, sum, c);
      return sum + c;
    }
    case Func::kCountOverTime:
      return static_cast<double>(p.size());
    case Func::kMaxOverTime: {
      double max = p[0].v;
      for (const auto& s : p) {
        if (s.v > max || std::isnan(max)) max = s.v;
      }
      return max;
    }
    case Func::kMinOverTime: {
      double min = p[0].v;
      for (const auto& s : p) {
        if (s.v < min || std::isnan(min)) min = s.v;
      }
      return min;
    }
    case Func::kLastOverTime:
      return p.back().v;
    case Func::kPresentOverTime:
      return 1.0;
    case Func::kQuantileOverTime: {
      std::vector<double> values;
      values.reserve(p.size());
      for (const auto& s : p) values.push_back(s.v);
      return Quantile(scalars[0], std::move(values));
    }
    case Func::kStddevOverTime:
    case Func::kStdvarOverTime: {
      double count = 0, mean = 0, c_mean = 0, aux = 0, c_aux = 0;
      for (const auto& s : p) {
        count++;
        double delta = s.v - (mean + c_mean);
        KahanAdd(delta / count, mean, c_mean);
        KahanAdd(delta * (s.v - (mean + c_mean)), aux, c_aux);
      }
      double var = (aux + c_aux) / count;
      return f == Func::kStddevOverTime ? std::sqrt(var) : var;
    }
    default:
      ThrowEval("not a range function");
  }
}

}  // namespace

bool IsRangeFunction(Func f) {
  switch (f) {
    case Func::kRate:
    case Func::kIncrease:
    case Func::kDelta:
    case Func::kIrate:
    case Func::kIdelta:
    case Func::kDeriv:
    case Func::kPredictLinear:
    case Func::kHoltWinters:
    case Func::kChanges:
    case Func::kResets:
    case Func::kAvgOverTime:
    case Func::kSumOverTime:
    case Func::kCountOverTime:
    case Func::kMaxOverTime:
    case Func::kMinOverTime:
    case Func::kLastOverTime:
    case Func::kPresentOverTime:
    case Func::kQuantileOverTime:
    case Func::kStddevOverTime:
    case Func::kStdvarOverTime:
    case Func::kAbsentOverTime:
      return true;
    default:
      return false;
  }
}

Vector ApplyRangeFunction(Func f, const RangeArg& range, const std::vector<double>& scalars,
                          int64_t ts) {
  Vector out;
  for (const Series& s : range.matrix) {
    if (s.points.empty()) continue;
    std::optional<double> v = Apply(f, s.points, range, scalars, ts);
    if (!v) continue;
    tsdb::Labels metric = f == Func::kLastOverTime ? s.metric : DropMetricName(s.metric);
    out.push_back(Sample{std::move(metric), *v});
  }
  return out;
}

}  // namespace pgdr::promql

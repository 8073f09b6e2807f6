// Numeric helpers shared by functions and aggregations (private).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace pgdr::promql {

// Prometheus's quantile(): linear interpolation between the closest ranks.
inline double Quantile(double q, std::vector<double> values) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (values.empty() || std::isnan(q)) return std::numeric_limits<double>::quiet_NaN();
  if (q < 0) return -kInf;
  if (q > 1) return kInf;
  std::stable_sort(values.begin(), values.end(), [](double a, double b) {
    if (std::isnan(a)) return !std::isnan(b);
    return a < b;
  });
  double n = static_cast<double>(values.size());
  double rank = q * (n - 1);
  double lower = std::max(0.0, std::floor(rank));
  double upper = std::min(n - 1, lower + 1);
  double weight = rank - std::floor(rank);
  return values[static_cast<size_t>(lower)] * (1 - weight) +
         values[static_cast<size_t>(upper)] * weight;
}

}  // namespace pgdr::promql

// Function implementations (signatures are in function_specs.cc).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>
#include <unordered_map>

#include "promql/evaluator.h"
#include "promql/functions_util.h"
#include "promql/range_functions.h"

namespace pgdr::promql {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

template <typename F>
Vector MapValues(Vector v, F f) {
  for (Sample& s : v) {
    s.metric = DropMetricName(std::move(s.metric));
    s.value = f(s.value);
  }
  return v;
}

// Days since 1970-01-01 to civil date (Howard Hinnant's algorithm).
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2);
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

double DatePart(Func f, double value) {
  if (std::isnan(value) || std::isinf(value)) return kNaN;
  int64_t secs = static_cast<int64_t>(value);
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t rem = secs - days * 86400;
  int64_t y;
  unsigned m;
  unsigned d;
  CivilFromDays(days, &y, &m, &d);
  static const int kDaysBefore[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  static const int kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  switch (f) {
    case Func::kYear:
      return static_cast<double>(y);
    case Func::kMonth:
      return m;
    case Func::kDayOfMonth:
      return d;
    case Func::kDayOfWeek:
      return static_cast<double>(((days % 7) + 11) % 7);
    case Func::kDayOfYear:
      return kDaysBefore[m - 1] + d + ((m > 2 && IsLeap(y)) ? 1 : 0);
    case Func::kDaysInMonth:
      return kDaysIn[m - 1] + ((m == 2 && IsLeap(y)) ? 1 : 0);
    case Func::kHour:
      return static_cast<double>(rem / 3600);  // NOLINT(bugprone-integer-division): whole hours
    case Func::kMinute:
      return static_cast<double>((rem % 3600) / 60);  // NOLINT(bugprone-integer-division)
    default:
      return kNaN;
  }
}

// Go's regexp.Expand for "$1", "${name}", "$$".
std::string Expand(std::string_view tmpl, const RE2& re,
                   const std::vector<re2::StringPiece>& groups) {
  std::string out;
  const auto& names = re.NamedCapturingGroups();
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] != '$' || i + 1 >= tmpl.size()) {
      out += tmpl[i];
      continue;
    }
    if (tmpl[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    std::string name;
    size_t j = i + 1;
    if (tmpl[j] == '{') {
      size_t close = tmpl.find('}', j);
      if (close == std::string_view::npos) {
        out += tmpl[i];
        continue;
      }
      name = std::string(tmpl.substr(j + 1, close - j - 1));
      j = close + 1;
    } else {
      while (j < tmpl.size() &&
             (std::isalnum(static_cast<unsigned char>(tmpl[j])) || tmpl[j] == '_')) {
        ++j;
      }
      name = std::string(tmpl.substr(i + 1, j - i - 1));
    }
    if (name.empty()) {
      out += tmpl[i];
      continue;
    }
    i = j - 1;
    bool numeric = std::all_of(name.begin(), name.end(),
                               [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    int index = -1;
    if (numeric) {
      index = std::atoi(name.c_str());
    } else if (auto it = names.find(name); it != names.end()) {
      index = it->second;
    }
    if (index >= 0 && index < static_cast<int>(groups.size()) && groups[index].data() != nullptr) {
      out.append(groups[index].data(), groups[index].size());
    }
  }
  return out;
}

Vector LabelReplace(Evaluator& ev, const Call& call, int64_t ts) {
  Vector v = ev.EvalVector(*call.args[0], ts);
  std::string dst = ev.EvalString(*call.args[1], ts);
  std::string repl = ev.EvalString(*call.args[2], ts);
  std::string src = ev.EvalString(*call.args[3], ts);
  std::string regex = ev.EvalString(*call.args[4], ts);
  RE2::Options opts;
  opts.set_log_errors(false);
  RE2 re("^(?:" + regex + ")$", opts);
  if (!re.ok()) ThrowEval("invalid regular expression in label_replace(): " + regex);
  if (!tsdb::IsValidLabelName(dst))
    ThrowEval("invalid destination label name in label_replace(): " + dst);
  const int n = re.NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> groups(n);
  for (Sample& s : v) {
    std::string value(tsdb::GetLabel(s.metric, src));
    if (!re.Match(value, 0, value.size(), RE2::UNANCHORED, groups.data(), n)) continue;
    std::string res = Expand(repl, re, groups);
    tsdb::SetLabel(s.metric, dst, res);
  }
  CheckDuplicateLabelsets(v);
  return v;
}

Vector LabelJoin(Evaluator& ev, const Call& call, int64_t ts) {
  Vector v = ev.EvalVector(*call.args[0], ts);
  std::string dst = ev.EvalString(*call.args[1], ts);
  std::string sep = ev.EvalString(*call.args[2], ts);
  std::vector<std::string> srcs;
  for (size_t i = 3; i < call.args.size(); ++i) {
    srcs.push_back(ev.EvalString(*call.args[i], ts));
    if (!tsdb::IsValidLabelName(srcs.back())) {
      ThrowEval("invalid source label name in label_join(): " + srcs.back());
    }
  }
  if (!tsdb::IsValidLabelName(dst))
    ThrowEval("invalid destination label name in label_join(): " + dst);
  for (Sample& s : v) {
    std::string joined;
    for (size_t i = 0; i < srcs.size(); ++i) {
      if (i > 0) joined += sep;
      joined += tsdb::GetLabel(s.metric, srcs[i]);
    }
    tsdb::SetLabel(s.metric, dst, joined);
  }
  CheckDuplicateLabelsets(v);
  return v;
}

tsdb::Labels AbsentLabels(const Expr& arg) {
  const Expr* e = &arg;
  const VectorSelector* vs = nullptr;
  if (e->kind == NodeKind::kVectorSelector) vs = static_cast<const VectorSelector*>(e);
  if (e->kind == NodeKind::kMatrixSelector) {
    vs = static_cast<const MatrixSelector*>(e)->selector.get();
  }
  tsdb::Labels out;
  if (vs == nullptr) return out;
  // Prometheus 2.42's labels.Builder, matcher by matcher: the first
  // equality matcher of a name sets it, any other matcher of that name
  // deletes it; an equality matcher after a deletion sets it again.
  std::set<std::string> seen;
  for (const auto& m : vs->matchers) {
    if (m.name() == tsdb::kMetricName) continue;
    if (m.type() == tsdb::MatchType::kEqual && seen.insert(m.name()).second) {
      tsdb::SetLabel(out, m.name(), m.value());
    } else {
      tsdb::SetLabel(out, m.name(), "");
    }
  }
  return out;
}

struct Bucket {
  double upper;
  double count;
};

double BucketQuantile(double q, std::vector<Bucket> buckets) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (std::isnan(q)) return kNaN;
  if (q < 0) return -kInf;
  if (q > 1) return kInf;
  std::stable_sort(buckets.begin(), buckets.end(),
                   [](const Bucket& a, const Bucket& b) { return a.upper < b.upper; });
  if (buckets.empty() || !std::isinf(buckets.back().upper) || buckets.back().upper < 0) {
    return kNaN;
  }
  std::vector<Bucket> merged;
  for (const Bucket& b : buckets) {
    if (!merged.empty() && merged.back().upper == b.upper) {
      merged.back().count += b.count;
    } else {
      merged.push_back(b);
    }
  }
  double max = -kInf;
  for (Bucket& b : merged) {
    if (b.count > max) {
      max = b.count;
    } else if (b.count < max) {
      b.count = max;
    }
  }
  if (merged.size() < 2) return kNaN;
  double observations = merged.back().count;
  if (observations == 0) return kNaN;
  double rank = q * observations;
  size_t b = 0;
  while (b < merged.size() - 1 && merged[b].count < rank) ++b;
  if (b == merged.size() - 1) return merged[merged.size() - 2].upper;
  if (b == 0 && merged[0].upper <= 0) return merged[0].upper;
  double start = 0;
  double end = merged[b].upper;
  double count = merged[b].count;
  if (b > 0) {
    start = merged[b - 1].upper;
    count -= merged[b - 1].count;
    rank -= merged[b - 1].count;
  }
  return start + (end - start) * (rank / count);
}

Vector HistogramQuantile(Evaluator& ev, const Call& call, int64_t ts) {
  double q = ev.EvalScalar(*call.args[0], ts);
  Vector v = ev.EvalVector(*call.args[1], ts);
  std::vector<std::pair<tsdb::Labels, std::vector<Bucket>>> groups;
  std::unordered_map<std::string, size_t> index;
  for (Sample& s : v) {
    std::string le(tsdb::GetLabel(s.metric, "le"));
    char* end = nullptr;
    double upper = std::strtod(le.c_str(), &end);
    if (le.empty() || end != le.c_str() + le.size()) continue;
    // Grouped by every label but le (the name included), output without the name.
    tsdb::Labels labels = std::move(s.metric);
    tsdb::SetLabel(labels, "le", "");
    auto [it, inserted] = index.emplace(tsdb::LabelsKey(labels), groups.size());
    if (inserted) groups.push_back({DropMetricName(std::move(labels)), {}});
    groups[it->second].second.push_back(Bucket{upper, s.value});
  }
  Vector out;
  for (auto& [labels, buckets] : groups) {
    out.push_back(Sample{std::move(labels), BucketQuantile(q, std::move(buckets))});
  }
  CheckDuplicateLabelsets(out);
  return out;
}

// Go's math.Log (fdlibm's algorithm), so that ln/log2/log10 round exactly as
// Prometheus's do; promtool tests compare values exactly.
double GoLog(double x) {
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kL1 = 6.666666666666735130e-01;
  constexpr double kL2 = 3.999999999940941908e-01;
  constexpr double kL3 = 2.857142874366239149e-01;
  constexpr double kL4 = 2.222219843214978396e-01;
  constexpr double kL5 = 1.818357216161805012e-01;
  constexpr double kL6 = 1.531383769920937332e-01;
  constexpr double kL7 = 1.479819860511658591e-01;
  if (std::isnan(x) || (std::isinf(x) && x > 0)) return x;
  if (x < 0) return kNaN;
  if (x == 0) return -std::numeric_limits<double>::infinity();
  int ki;
  double f1 = std::frexp(x, &ki);
  if (f1 < M_SQRT2 / 2) {
    f1 *= 2;
    ki--;
  }
  const double f = f1 - 1;
  const double k = ki;
  const double s = f / (2 + f);
  const double s2 = s * s;
  const double s4 = s2 * s2;
  const double t1 = s2 * (kL1 + s4 * (kL3 + s4 * (kL5 + s4 * kL7)));
  const double t2 = s4 * (kL2 + s4 * (kL4 + s4 * kL6));
  const double r = t1 + t2;
  const double hfsq = 0.5 * f * f;
  return k * kLn2Hi - ((hfsq - (s * (hfsq + r) + k * kLn2Lo)) - f);
}

double GoLog10(double x) { return GoLog(x) * 0.43429448190325182765112891891660508229439700580366; }

double GoLog2(double x) {
  int exp;
  double frac = std::frexp(x, &exp);
  if (frac == 0.5) return exp - 1;
  return GoLog(frac) * 1.44269504088896340735992468100189213742664595415298593 + exp;
}

// Go's math.Min/Max: NaN wins.
double GoMin(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return kNaN;
  return std::min(a, b);
}
double GoMax(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return kNaN;
  return std::max(a, b);
}

double Round(double v, double to_nearest) {
  double inverse = 1.0 / to_nearest;
  return std::floor(v * inverse + 0.5) / inverse;
}

}  // namespace

double EvalScalarCall(Evaluator& ev, const Call& call, int64_t ts) {
  switch (call.func->id) {
    case Func::kTime:
      return static_cast<double>(ts) / 1000.0;
    case Func::kPi:
      return M_PI;
    case Func::kScalar: {
      Vector v = ev.EvalVector(*call.args[0], ts);
      return v.size() == 1 ? v[0].value : kNaN;
    }
    default:
      ThrowEval("not a scalar function: " + std::string(call.func->name));
  }
}

Vector EvalCall(Evaluator& ev, const Call& call, int64_t ts) {
  const Func f = call.func->id;
  if (IsRangeFunction(f)) {
    const size_t matrix_arg = (f == Func::kQuantileOverTime) ? 1 : 0;
    std::vector<double> scalars;
    for (size_t i = 0; i < call.args.size(); ++i) {
      if (i != matrix_arg) scalars.push_back(ev.EvalScalar(*call.args[i], ts));
    }
    RangeArg range = ev.EvalRange(*call.args[matrix_arg], ts);
    if (f == Func::kAbsentOverTime) {
      if (!range.matrix.empty()) return {};
      return {Sample{AbsentLabels(*call.args[0]), 1}};
    }
    Vector out = ApplyRangeFunction(f, range, scalars, ts);
    CheckDuplicateLabelsets(out);
    return out;
  }
  switch (f) {
    case Func::kTimestamp: {
      const Expr* arg = call.args[0].get();
      while (arg->kind == NodeKind::kParen) arg = static_cast<const ParenExpr*>(arg)->expr.get();
      Vector out;
      if (arg->kind == NodeKind::kVectorSelector) {
        for (auto& [s, t] : ev.SelectInstant(static_cast<const VectorSelector&>(*arg), ts)) {
          out.push_back(Sample{DropMetricName(std::move(s.metric)), static_cast<double>(t) / 1000});
        }
      } else {
        out = MapValues(ev.EvalVector(*arg, ts),
                        [&](double) { return static_cast<double>(ts) / 1000; });
      }
      CheckDuplicateLabelsets(out);
      return out;
    }
    case Func::kVector:
      return {Sample{{}, ev.EvalScalar(*call.args[0], ts)}};
    case Func::kAbsent: {
      if (!ev.EvalVector(*call.args[0], ts).empty()) return {};
      return {Sample{AbsentLabels(*call.args[0]), 1}};
    }
    case Func::kLabelReplace:
      return LabelReplace(ev, call, ts);
    case Func::kLabelJoin:
      return LabelJoin(ev, call, ts);
    case Func::kHistogramQuantile:
      return HistogramQuantile(ev, call, ts);
    case Func::kHistogramCount:
    case Func::kHistogramSum:
    case Func::kHistogramFraction:
      // Only native histograms have these; float samples yield nothing.
      for (const auto& arg : call.args) ev.Eval(*arg, ts);
      return {};
    case Func::kSort:
    case Func::kSortDesc: {
      Vector v = ev.EvalVector(*call.args[0], ts);
      const bool desc = f == Func::kSortDesc;
      std::stable_sort(v.begin(), v.end(), [&](const Sample& a, const Sample& b) {
        if (std::isnan(a.value)) return false;
        if (std::isnan(b.value)) return true;
        return desc ? a.value > b.value : a.value < b.value;
      });
      return v;
    }
    case Func::kDaysInMonth:
    case Func::kDayOfMonth:
    case Func::kDayOfWeek:
    case Func::kDayOfYear:
    case Func::kHour:
    case Func::kMinute:
    case Func::kMonth:
    case Func::kYear: {
      // Whole seconds, as Go's time.Unix(ts/1000, 0).
      // NOLINTNEXTLINE(bugprone-integer-division)
      if (call.args.empty()) return {Sample{{}, DatePart(f, static_cast<double>(ts / 1000))}};
      Vector out =
          MapValues(ev.EvalVector(*call.args[0], ts), [&](double v) { return DatePart(f, v); });
      CheckDuplicateLabelsets(out);
      return out;
    }
    default:
      break;
  }
  // Element-wise math on one vector, perhaps with scalar parameters.
  Vector v = ev.EvalVector(*call.args[0], ts);
  std::vector<double> p;
  for (size_t i = 1; i < call.args.size(); ++i) p.push_back(ev.EvalScalar(*call.args[i], ts));
  Vector out;
  switch (f) {
    case Func::kAbs:
      out = MapValues(std::move(v), [](double x) { return std::fabs(x); });
      break;
    case Func::kCeil:
      out = MapValues(std::move(v), [](double x) { return std::ceil(x); });
      break;
    case Func::kFloor:
      out = MapValues(std::move(v), [](double x) { return std::floor(x); });
      break;
    case Func::kExp:
      out = MapValues(std::move(v), [](double x) { return std::exp(x); });
      break;
    case Func::kSqrt:
      out = MapValues(std::move(v), [](double x) { return std::sqrt(x); });
      break;
    case Func::kLn:
      out = MapValues(std::move(v), [](double x) { return GoLog(x); });
      break;
    case Func::kLog2:
      out = MapValues(std::move(v), [](double x) { return GoLog2(x); });
      break;
    case Func::kLog10:
      out = MapValues(std::move(v), [](double x) { return GoLog10(x); });
      break;
    case Func::kSin:
      out = MapValues(std::move(v), [](double x) { return std::sin(x); });
      break;
    case Func::kCos:
      out = MapValues(std::move(v), [](double x) { return std::cos(x); });
      break;
    case Func::kTan:
      out = MapValues(std::move(v), [](double x) { return std::tan(x); });
      break;
    case Func::kAsin:
      out = MapValues(std::move(v), [](double x) { return std::asin(x); });
      break;
    case Func::kAcos:
      out = MapValues(std::move(v), [](double x) { return std::acos(x); });
      break;
    case Func::kAtan:
      out = MapValues(std::move(v), [](double x) { return std::atan(x); });
      break;
    case Func::kSinh:
      out = MapValues(std::move(v), [](double x) { return std::sinh(x); });
      break;
    case Func::kCosh:
      out = MapValues(std::move(v), [](double x) { return std::cosh(x); });
      break;
    case Func::kTanh:
      out = MapValues(std::move(v), [](double x) { return std::tanh(x); });
      break;
    case Func::kAsinh:
      out = MapValues(std::move(v), [](double x) { return std::asinh(x); });
      break;
    case Func::kAcosh:
      out = MapValues(std::move(v), [](double x) { return std::acosh(x); });
      break;
    case Func::kAtanh:
      out = MapValues(std::move(v), [](double x) { return std::atanh(x); });
      break;
    case Func::kDeg:
      out = MapValues(std::move(v), [](double x) { return x * 180 / M_PI; });
      break;
    case Func::kRad:
      out = MapValues(std::move(v), [](double x) { return x * M_PI / 180; });
      break;
    case Func::kSgn:
      out = MapValues(std::move(v), [](double x) {
        if (x < 0) return -1.0;
        if (x > 0) return 1.0;
        return x;
      });
      break;
    case Func::kRound: {
      double to = p.empty() ? 1.0 : p[0];
      out = MapValues(std::move(v), [&](double x) { return Round(x, to); });
      break;
    }
    case Func::kClamp:
      if (p[1] < p[0]) return {};
      out = MapValues(std::move(v), [&](double x) { return GoMax(p[0], GoMin(p[1], x)); });
      break;
    case Func::kClampMax:
      out = MapValues(std::move(v), [&](double x) { return GoMin(p[0], x); });
      break;
    case Func::kClampMin:
      out = MapValues(std::move(v), [&](double x) { return GoMax(p[0], x); });
      break;
    default:
      ThrowEval("function not implemented: " + std::string(call.func->name));
  }
  CheckDuplicateLabelsets(out);
  return out;
}

}  // namespace pgdr::promql

// Aggregation operators: sum, avg, min, max, count, group, stddev, stdvar,
// topk, bottomk, count_values, quantile, with by/without.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "promql/evaluator.h"
#include "promql/functions_util.h"

namespace pgdr::promql {
namespace {

struct Group {
  tsdb::Labels labels;
  double value = 0;
  double mean = 0;
  double count = 0;
  std::vector<Sample> members;  // topk/bottomk/quantile
};

tsdb::Labels GroupLabels(const tsdb::Labels& metric, const AggregateExpr& agg) {
  tsdb::Labels out;
  if (agg.without) {
    for (const tsdb::Label& l : metric) {
      if (l.name == tsdb::kMetricName) continue;
      if (std::find(agg.grouping.begin(), agg.grouping.end(), l.name) != agg.grouping.end()) {
        continue;
      }
      out.push_back(l);
    }
    return out;
  }
  for (const tsdb::Label& l : metric) {
    if (std::find(agg.grouping.begin(), agg.grouping.end(), l.name) != agg.grouping.end()) {
      out.push_back(l);
    }
  }
  return out;
}

// Go's strconv.FormatFloat(v, 'f', -1, 64).
std::string FormatValueLabel(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[512];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  return std::string(buf, res.ptr);
}

void Accumulate(Group& g, AggOp op, double v, bool first) {
  if (first) {
    g.value = v;
    g.mean = v;
    g.count = 1;
    if (op == AggOp::kStddev || op == AggOp::kStdvar) g.value = 0;
    if (op == AggOp::kCount || op == AggOp::kGroup) g.value = 1;
    return;
  }
  switch (op) {
    case AggOp::kSum:
      g.value += v;
      break;
    case AggOp::kAvg:
      g.count++;
      if (std::isinf(g.mean)) {
        if (std::isinf(v) && (g.mean > 0) == (v > 0)) break;
        if (!std::isinf(v) && !std::isnan(v)) break;
      }
      g.mean += v / g.count - g.mean / g.count;
      break;
    case AggOp::kMax:
      if (g.value < v || std::isnan(g.value)) g.value = v;
      break;
    case AggOp::kMin:
      if (g.value > v || std::isnan(g.value)) g.value = v;
      break;
    case AggOp::kCount:
      g.value += 1;
      break;
    case AggOp::kGroup:
      break;
    case AggOp::kStddev:
    case AggOp::kStdvar: {
      g.count++;
      double delta = v - g.mean;
      g.mean += delta / g.count;
      g.value += delta * (v - g.mean);
      break;
    }
    default:
      break;
  }
}

// Ordering for topk (descending) or bottomk (ascending); NaN always last.
bool Before(double a, double b, bool top) {
  if (std::isnan(a)) return false;
  if (std::isnan(b)) return true;
  return top ? a > b : a < b;
}

}  // namespace

Vector EvalAggregate(Evaluator& ev, const AggregateExpr& agg, int64_t ts) {
  double param = 0;
  std::string value_label;
  if (agg.op == AggOp::kCountValues) {
    value_label = ev.EvalString(*agg.param, ts);
  } else if (agg.param) {
    param = ev.EvalScalar(*agg.param, ts);
  }
  Vector input = ev.EvalVector(*agg.expr, ts);
  const bool keep_members =
      agg.op == AggOp::kTopk || agg.op == AggOp::kBottomk || agg.op == AggOp::kQuantile;

  std::vector<Group> groups;
  std::unordered_map<std::string, size_t> index;
  for (Sample& s : input) {
    tsdb::Labels labels = GroupLabels(s.metric, agg);
    if (agg.op == AggOp::kCountValues) {
      tsdb::SetLabel(labels, value_label, FormatValueLabel(s.value));
    }
    auto [it, inserted] = index.emplace(tsdb::LabelsKey(labels), groups.size());
    if (inserted) groups.push_back(Group{.labels = std::move(labels)});
    Group& g = groups[it->second];
    if (keep_members) {
      g.members.push_back(std::move(s));
    } else {
      Accumulate(g, agg.op == AggOp::kCountValues ? AggOp::kCount : agg.op, s.value, inserted);
    }
  }

  Vector out;
  for (Group& g : groups) {
    switch (agg.op) {
      case AggOp::kTopk:
      case AggOp::kBottomk: {
        if (std::isnan(param) || param < 1) break;
        size_t k = param >= static_cast<double>(g.members.size()) ? g.members.size()
                                                                  : static_cast<size_t>(param);
        const bool top = agg.op == AggOp::kTopk;
        std::stable_sort(g.members.begin(), g.members.end(), [&](const Sample& a, const Sample& b) {
          return Before(a.value, b.value, top);
        });
        for (size_t i = 0; i < k; ++i) out.push_back(std::move(g.members[i]));
        break;
      }
      case AggOp::kQuantile: {
        std::vector<double> values;
        for (const Sample& s : g.members) values.push_back(s.value);
        out.push_back(Sample{std::move(g.labels), Quantile(param, std::move(values))});
        break;
      }
      case AggOp::kAvg:
        out.push_back(Sample{std::move(g.labels), g.mean});
        break;
      case AggOp::kStdvar:
        out.push_back(Sample{std::move(g.labels), g.value / g.count});
        break;
      case AggOp::kStddev:
        out.push_back(Sample{std::move(g.labels), std::sqrt(g.value / g.count)});
        break;
      default:
        out.push_back(Sample{std::move(g.labels), g.value});
        break;
    }
  }
  return out;
}

}  // namespace pgdr::promql

// Binary operators: arithmetic, comparisons (with bool), set operators and
// vector matching (on/ignoring, group_left/group_right).
#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "promql/evaluator.h"

namespace pgdr::promql {
namespace {

// Returns the result value and whether a comparison holds.
std::pair<double, bool> Apply(BinOp op, double l, double r) {
  switch (op) {
    case BinOp::kAdd:
      return {l + r, true};
    case BinOp::kSub:
      return {l - r, true};
    case BinOp::kMul:
      return {l * r, true};
    case BinOp::kDiv:
      return {l / r, true};
    case BinOp::kPow:
      return {std::pow(l, r), true};
    case BinOp::kMod:
      return {std::fmod(l, r), true};
    case BinOp::kAtan2:
      return {std::atan2(l, r), true};
    case BinOp::kEq:
      return {l, l == r};
    case BinOp::kNe:
      return {l, l != r};
    case BinOp::kGt:
      return {l, l > r};
    case BinOp::kLt:
      return {l, l < r};
    case BinOp::kGe:
      return {l, l >= r};
    case BinOp::kLe:
      return {l, l <= r};
    default:
      ThrowEval("invalid operator for scalar operands");
  }
}

bool DropsName(BinOp op) {
  switch (op) {
    case BinOp::kAdd:
    case BinOp::kSub:
    case BinOp::kMul:
    case BinOp::kDiv:
    case BinOp::kPow:
    case BinOp::kMod:
      return true;
    default:
      return false;
  }
}

// The matching signature of a series.
std::string Signature(const tsdb::Labels& labels, const VectorMatching& m) {
  std::string sig;
  if (m.on) {
    for (const std::string& name : m.labels) {
      sig += name;
      sig += '\xff';
      sig += tsdb::GetLabel(labels, name);
      sig += '\xff';
    }
    return sig;
  }
  for (const tsdb::Label& l : labels) {
    if (l.name == tsdb::kMetricName) continue;
    if (std::find(m.labels.begin(), m.labels.end(), l.name) != m.labels.end()) continue;
    sig += l.name;
    sig += '\xff';
    sig += l.value;
    sig += '\xff';
  }
  return sig;
}

// The labels a signature is made of, for error messages.
tsdb::Labels MatchedLabels(const tsdb::Labels& labels, const VectorMatching& m) {
  tsdb::Labels out;
  for (const tsdb::Label& l : labels) {
    bool listed = std::find(m.labels.begin(), m.labels.end(), l.name) != m.labels.end();
    if (m.on ? listed : (!listed && l.name != tsdb::kMetricName)) out.push_back(l);
  }
  return out;
}

Vector SetOp(BinOp op, Vector lhs, Vector rhs, const VectorMatching& m) {
  Vector out;
  if (op == BinOp::kOr) {
    std::unordered_set<std::string> left;
    for (Sample& s : lhs) {
      left.insert(Signature(s.metric, m));
      out.push_back(std::move(s));
    }
    for (Sample& s : rhs) {
      if (!left.contains(Signature(s.metric, m))) out.push_back(std::move(s));
    }
    return out;
  }
  std::unordered_set<std::string> right;
  for (const Sample& s : rhs) right.insert(Signature(s.metric, m));
  for (Sample& s : lhs) {
    bool found = right.contains(Signature(s.metric, m));
    if (found == (op == BinOp::kAnd)) out.push_back(std::move(s));
  }
  return out;
}

tsdb::Labels ResultMetric(const tsdb::Labels& lhs, const tsdb::Labels& rhs, BinOp op,
                          const VectorMatching& m) {
  tsdb::Labels out = lhs;
  if (DropsName(op)) out = DropMetricName(std::move(out));
  if (m.card == VectorMatching::Card::kOneToOne) {
    if (m.on) {
      std::erase_if(out, [&](const tsdb::Label& l) {
        return std::find(m.labels.begin(), m.labels.end(), l.name) == m.labels.end();
      });
    } else {
      std::erase_if(out, [&](const tsdb::Label& l) {
        return std::find(m.labels.begin(), m.labels.end(), l.name) != m.labels.end();
      });
    }
  }
  for (const std::string& name : m.include) {
    tsdb::SetLabel(out, name, tsdb::GetLabel(rhs, name));
  }
  return out;
}

Vector VectorVector(BinOp op, Vector lhs, Vector rhs, const VectorMatching& m, bool return_bool) {
  if (IsSetOp(op)) return SetOp(op, std::move(lhs), std::move(rhs), m);
  const bool swapped = m.card == VectorMatching::Card::kOneToMany;
  if (swapped) std::swap(lhs, rhs);
  std::unordered_map<std::string, const Sample*> right;
  for (const Sample& s : rhs) {
    auto [it, inserted] = right.emplace(Signature(s.metric, m), &s);
    if (!inserted) {
      ThrowEval("found duplicate series for the match group " +
                tsdb::LabelsToGoString(MatchedLabels(s.metric, m)) + " on the " +
                (swapped ? "left" : "right") + " hand-side of the operation: [" +
                tsdb::LabelsToGoString(s.metric) + ", " +
                tsdb::LabelsToGoString(it->second->metric) +
                "];many-to-many matching not allowed: matching labels must be unique on one side");
    }
  }
  std::unordered_map<std::string, std::unordered_set<std::string>> matched;
  Vector out;
  for (const Sample& ls : lhs) {
    std::string sig = Signature(ls.metric, m);
    auto found = right.find(sig);
    if (found == right.end()) continue;
    const Sample& rs = *found->second;
    double vl = ls.value;
    double vr = rs.value;
    if (swapped) std::swap(vl, vr);
    auto [value, keep] = Apply(op, vl, vr);
    if (return_bool) {
      value = keep ? 1 : 0;
    } else if (!keep) {
      continue;
    }
    tsdb::Labels metric = ResultMetric(ls.metric, rs.metric, op, m);
    if (return_bool) metric = DropMetricName(std::move(metric));
    auto [entry, first] = matched.try_emplace(sig);
    if (m.card == VectorMatching::Card::kOneToOne) {
      if (!first) {
        ThrowEval(
            "multiple matches for labels: many-to-one matching must be explicit "
            "(group_left/group_right)");
      }
    } else if (!entry->second.insert(tsdb::LabelsKey(metric)).second) {
      ThrowEval("multiple matches for labels: grouping labels must ensure unique matches");
    }
    out.push_back(Sample{std::move(metric), value});
  }
  return out;
}

Vector VectorScalar(BinOp op, Vector vec, double scalar, bool scalar_left, bool return_bool) {
  Vector out;
  out.reserve(vec.size());
  for (Sample& s : vec) {
    double l = s.value;
    double r = scalar;
    if (scalar_left) std::swap(l, r);
    auto [value, keep] = Apply(op, l, r);
    if (IsComparison(op) && scalar_left) value = r;
    if (return_bool) {
      value = keep ? 1 : 0;
    } else if (!keep) {
      continue;
    }
    if (DropsName(op) || return_bool) s.metric = DropMetricName(std::move(s.metric));
    out.push_back(Sample{std::move(s.metric), value});
  }
  return out;
}

}  // namespace

Value EvalBinary(Evaluator& ev, const BinaryExpr& bin, int64_t ts) {
  Value l = ev.Eval(*bin.lhs, ts);
  Value r = ev.Eval(*bin.rhs, ts);
  auto* ls = std::get_if<Scalar>(&l);
  auto* rs = std::get_if<Scalar>(&r);
  if (ls != nullptr && rs != nullptr) {
    auto [value, keep] = Apply(bin.op, ls->value, rs->value);
    if (IsComparison(bin.op)) value = keep ? 1 : 0;
    return Scalar{value};
  }
  Vector out;
  if (ls != nullptr) {
    out = VectorScalar(bin.op, std::get<Vector>(std::move(r)), ls->value, true, bin.return_bool);
  } else if (rs != nullptr) {
    out = VectorScalar(bin.op, std::get<Vector>(std::move(l)), rs->value, false, bin.return_bool);
  } else {
    VectorMatching m = bin.matching.value_or(VectorMatching{});
    out = VectorVector(bin.op, std::get<Vector>(std::move(l)), std::get<Vector>(std::move(r)), m,
                       bin.return_bool);
  }
  CheckDuplicateLabelsets(out);
  return out;
}

}  // namespace pgdr::promql

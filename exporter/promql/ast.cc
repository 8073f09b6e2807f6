// Names of node kinds and operators, and the printer (Prometheus's String()).
#include "pgdr/promql/ast.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <tuple>

#include "pgdr/core/strings.h"
#include "pgdr/promql/parser.h"

namespace pgdr::promql {

std::string FormatDurationMs(int64_t ms) {
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  // Years and weeks only when exact, as model.Duration prints "90d", not "12w6d".
  static const std::tuple<int64_t, const char*, bool> kUnits[] = {{365LL * 86'400'000, "y", true},
                                                                  {7LL * 86'400'000, "w", true},
                                                                  {86'400'000, "d", false},
                                                                  {3'600'000, "h", false},
                                                                  {60'000, "m", false},
                                                                  {1'000, "s", false},
                                                                  {1, "ms", false}};
  for (const auto& [size, name, exact] : kUnits) {
    if (exact && ms % size != 0) continue;
    if (ms >= size) {
      out += std::to_string(ms / size) + name;
      ms %= size;
    }
  }
  return out;
}

namespace {

std::string AtString(const AtModifier& at) {
  switch (at.kind) {
    case AtModifier::Kind::kNone:
      return "";
    case AtModifier::Kind::kStart:
      return " @ start()";
    case AtModifier::Kind::kEnd:
      return " @ end()";
    case AtModifier::Kind::kTimestamp: {
      char buf[64];
      std::snprintf(buf, sizeof(buf), " @ %.3f", static_cast<double>(at.t_ms) / 1000.0);
      return buf;
    }
  }
  return "";
}

std::string OffsetString(int64_t offset_ms) {
  if (offset_ms == 0) return "";
  return " offset " + FormatDurationMs(offset_ms);
}

std::string SelectorBase(const VectorSelector& vs) {
  std::vector<std::string> parts;
  for (const auto& m : vs.matchers) {
    if (!vs.name.empty() && m.name() == tsdb::kMetricName && m.type() == tsdb::MatchType::kEqual) {
      continue;
    }
    parts.push_back(m.ToString());
  }
  if (parts.empty()) return vs.name;
  std::sort(parts.begin(), parts.end());  // as Prometheus prints them
  return vs.name + "{" + core::Join(parts, ",") + "}";
}

}  // namespace

const char* ValueTypeName(ValueType t) {
  switch (t) {
    case ValueType::kNone:
      return "none";
    case ValueType::kScalar:
      return "scalar";
    case ValueType::kVector:
      return "instant vector";
    case ValueType::kMatrix:
      return "range vector";
    case ValueType::kString:
      return "string";
  }
  return "none";
}

const char* BinOpName(BinOp op) {
  static const char* kNames[] = {"+",  "-", "*", "/",  "%",  "^",   "atan2", "==",
                                 "!=", ">", "<", ">=", "<=", "and", "or",    "unless"};
  return kNames[static_cast<int>(op)];
}

bool IsComparison(BinOp op) { return op >= BinOp::kEq && op <= BinOp::kLe; }
bool IsSetOp(BinOp op) { return op >= BinOp::kAnd; }

const char* AggOpName(AggOp op) {
  static const char* kNames[] = {"sum",    "avg",    "min",  "max",     "count",        "group",
                                 "stddev", "stdvar", "topk", "bottomk", "count_values", "quantile"};
  return kNames[static_cast<int>(op)];
}

namespace {

// Adds the names `e` reads to `names`; false when a selector names no single metric.
bool CollectNames(const Expr& e, std::set<std::string>& names) {
  switch (e.kind) {
    case NodeKind::kNumber:
    case NodeKind::kString:
      return true;
    case NodeKind::kVectorSelector: {
      const auto& v = static_cast<const VectorSelector&>(e);
      for (const tsdb::Matcher& m : v.matchers) {
        if (m.name() == tsdb::kMetricName && m.type() == tsdb::MatchType::kEqual) {
          names.insert(m.value());
          return true;
        }
      }
      return false;
    }
    case NodeKind::kMatrixSelector:
      return CollectNames(*static_cast<const MatrixSelector&>(e).selector, names);
    case NodeKind::kSubquery:
      return CollectNames(*static_cast<const SubqueryExpr&>(e).expr, names);
    case NodeKind::kParen:
      return CollectNames(*static_cast<const ParenExpr&>(e).expr, names);
    case NodeKind::kUnary:
      return CollectNames(*static_cast<const UnaryExpr&>(e).expr, names);
    case NodeKind::kBinary: {
      const auto& b = static_cast<const BinaryExpr&>(e);
      return CollectNames(*b.lhs, names) && CollectNames(*b.rhs, names);
    }
    case NodeKind::kCall:
      for (const ExprPtr& arg : static_cast<const Call&>(e).args) {
        if (!CollectNames(*arg, names)) return false;
      }
      return true;
    case NodeKind::kAggregate: {
      const auto& a = static_cast<const AggregateExpr&>(e);
      return CollectNames(*a.expr, names) && (!a.param || CollectNames(*a.param, names));
    }
  }
  return false;
}

}  // namespace

std::optional<std::set<std::string>> SelectedMetricNames(const Expr& expr) {
  std::set<std::string> names;
  if (!CollectNames(expr, names)) return std::nullopt;
  return names;
}

std::string FormatFloatExponent(double v, char e) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  const std::string_view sci(buf, res.ptr - buf);
  const size_t at = sci.find('e');
  const int exp = std::stoi(std::string(sci.substr(at + 1)));
  char suffix[16];
  std::snprintf(suffix, sizeof(suffix), "%c%c%02d", e, exp < 0 ? '-' : '+', std::abs(exp));
  return std::string(sci.substr(0, at)) + suffix;
}

std::string FormatFloat(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  size_t e = sci.find('e');
  std::string mantissa = sci.substr(0, e);
  int exp = std::stoi(sci.substr(e + 1));
  if (exp < -4 || exp >= 6) return FormatFloatExponent(v, 'e');  // Go's %g switches at 1e+06
  bool neg = mantissa[0] == '-';
  if (neg) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits += c;
  }
  std::string out;
  if (exp < 0) {
    out = "0." + std::string(-exp - 1, '0') + digits;
  } else if (static_cast<int>(digits.size()) <= exp + 1) {
    out = digits + std::string(exp + 1 - digits.size(), '0');
  } else {
    out = digits.substr(0, exp + 1) + "." + digits.substr(exp + 1);
  }
  return neg ? "-" + out : out;
}

std::string ToString(const Expr& expr) {
  switch (expr.kind) {
    case NodeKind::kNumber:
      return FormatFloat(static_cast<const NumberLiteral&>(expr).value);
    case NodeKind::kString:
      return core::Quoted(static_cast<const StringLiteral&>(expr).value);
    case NodeKind::kVectorSelector: {
      const auto& vs = static_cast<const VectorSelector&>(expr);
      return SelectorBase(vs) + AtString(vs.at) + OffsetString(vs.offset_ms);
    }
    case NodeKind::kMatrixSelector: {
      const auto& ms = static_cast<const MatrixSelector&>(expr);
      return SelectorBase(*ms.selector) + "[" + FormatDurationMs(ms.range_ms) + "]" +
             AtString(ms.selector->at) + OffsetString(ms.selector->offset_ms);
    }
    case NodeKind::kSubquery: {
      const auto& sq = static_cast<const SubqueryExpr&>(expr);
      std::string step = sq.step_ms != 0 ? FormatDurationMs(sq.step_ms) : "";
      return ToString(*sq.expr) + "[" + FormatDurationMs(sq.range_ms) + ":" + step + "]" +
             AtString(sq.at) + OffsetString(sq.offset_ms);
    }
    case NodeKind::kParen:
      return "(" + ToString(*static_cast<const ParenExpr&>(expr).expr) + ")";
    case NodeKind::kUnary: {
      const auto& u = static_cast<const UnaryExpr&>(expr);
      return (u.negate ? "-" : "+") + ToString(*u.expr);
    }
    case NodeKind::kBinary: {
      const auto& b = static_cast<const BinaryExpr&>(expr);
      std::string matching;
      if (b.matching && (b.matching->on || !b.matching->labels.empty())) {
        matching = std::string(b.matching->on ? " on" : " ignoring") + " (" +
                   core::Join(b.matching->labels, ", ") + ")";
        if (b.matching->card == VectorMatching::Card::kManyToOne ||
            b.matching->card == VectorMatching::Card::kOneToMany) {
          matching +=
              std::string(b.matching->card == VectorMatching::Card::kManyToOne ? " group_left"
                                                                               : " group_right") +
              " (" + core::Join(b.matching->include, ", ") + ")";
        }
      }
      return ToString(*b.lhs) + " " + BinOpName(b.op) + (b.return_bool ? " bool" : "") + matching +
             " " + ToString(*b.rhs);
    }
    case NodeKind::kCall: {
      const auto& c = static_cast<const Call&>(expr);
      std::vector<std::string> args;
      for (const auto& a : c.args) args.push_back(ToString(*a));
      return std::string(c.func->name) + "(" + core::Join(args, ", ") + ")";
    }
    case NodeKind::kAggregate: {
      const auto& a = static_cast<const AggregateExpr&>(expr);
      std::string out = AggOpName(a.op);
      if (a.without) {
        out += " without (" + core::Join(a.grouping, ", ") + ") ";
      } else if (!a.grouping.empty()) {
        out += " by (" + core::Join(a.grouping, ", ") + ") ";
      }
      out += "(";
      if (a.param) out += ToString(*a.param) + ", ";
      return out + ToString(*a.expr) + ")";
    }
  }
  return "";
}

}  // namespace pgdr::promql

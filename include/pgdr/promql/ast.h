// The PromQL syntax tree: plain data built by the parser, read by the engine
// and the printer. Nodes own their children through std::unique_ptr; a tree
// is immutable once parsed and may be evaluated from several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pgdr/tsdb/tsdb.h"

namespace pgdr::promql {

enum class ValueType { kNone, kScalar, kVector, kMatrix, kString };
const char* ValueTypeName(ValueType t);  // "scalar", "instant vector", ...

// Byte offsets [start, end) of a node in the query text.
struct PosRange {
  int start = 0;
  int end = 0;
};

enum class NodeKind {
  kNumber,
  kString,
  kVectorSelector,
  kMatrixSelector,
  kSubquery,
  kParen,
  kUnary,
  kBinary,
  kCall,
  kAggregate,
};

enum class BinOp {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kAtan2,
  kEq,
  kNe,
  kGt,
  kLt,
  kGe,
  kLe,
  kAnd,
  kOr,
  kUnless,
};
const char* BinOpName(BinOp op);
bool IsComparison(BinOp op);
bool IsSetOp(BinOp op);

enum class AggOp {
  kSum,
  kAvg,
  kMin,
  kMax,
  kCount,
  kGroup,
  kStddev,
  kStdvar,
  kTopk,
  kBottomk,
  kCountValues,
  kQuantile
};
const char* AggOpName(AggOp op);

// The @ modifier: a timestamp, or start()/end() (both the evaluation time of
// an instant query).
struct AtModifier {
  enum class Kind { kNone, kTimestamp, kStart, kEnd } kind = Kind::kNone;
  int64_t t_ms = 0;
};

struct Expr {
  explicit Expr(NodeKind k) : kind(k) {}
  virtual ~Expr() = default;
  NodeKind kind;
  PosRange pos;
  ValueType type = ValueType::kNone;
  int depth = 1;  // height of the subtree, bounded by kMaxExprDepth
};
using ExprPtr = std::unique_ptr<Expr>;

struct NumberLiteral final : Expr {
  NumberLiteral() : Expr(NodeKind::kNumber) { type = ValueType::kScalar; }
  double value = 0;
};

struct StringLiteral final : Expr {
  StringLiteral() : Expr(NodeKind::kString) { type = ValueType::kString; }
  std::string value;
};

struct VectorSelector final : Expr {
  VectorSelector() : Expr(NodeKind::kVectorSelector) { type = ValueType::kVector; }
  std::string name;                     // may be empty when only matchers are given
  std::vector<tsdb::Matcher> matchers;  // includes __name__="name" when name is set
  int64_t offset_ms = 0;
  AtModifier at;
};

struct MatrixSelector final : Expr {
  MatrixSelector() : Expr(NodeKind::kMatrixSelector) { type = ValueType::kMatrix; }
  std::unique_ptr<VectorSelector> selector;  // carries offset and @
  int64_t range_ms = 0;
};

struct SubqueryExpr final : Expr {
  SubqueryExpr() : Expr(NodeKind::kSubquery) { type = ValueType::kMatrix; }
  ExprPtr expr;
  int64_t range_ms = 0;
  int64_t step_ms = 0;  // 0: the engine's default
  int64_t offset_ms = 0;
  AtModifier at;
};

struct ParenExpr final : Expr {
  ParenExpr() : Expr(NodeKind::kParen) {}
  ExprPtr expr;
};

struct UnaryExpr final : Expr {
  UnaryExpr() : Expr(NodeKind::kUnary) {}
  bool negate = false;  // '-' (true) or '+' (false)
  ExprPtr expr;
};

struct VectorMatching {
  enum class Card { kOneToOne, kManyToOne, kOneToMany, kManyToMany } card = Card::kOneToOne;
  bool on = false;               // on(...) rather than ignoring(...)
  bool explicit_labels = false;  // on/ignoring was written
  std::vector<std::string> labels;
  std::vector<std::string> include;  // group_left/group_right labels
};

struct BinaryExpr final : Expr {
  BinaryExpr() : Expr(NodeKind::kBinary) {}
  BinOp op = BinOp::kAdd;
  ExprPtr lhs;
  ExprPtr rhs;
  bool return_bool = false;
  std::optional<VectorMatching> matching;  // set when both sides are vectors
};

struct FunctionSpec;  // functions.h

struct Call final : Expr {
  Call() : Expr(NodeKind::kCall) {}
  const FunctionSpec* func = nullptr;
  std::vector<ExprPtr> args;
};

struct AggregateExpr final : Expr {
  AggregateExpr() : Expr(NodeKind::kAggregate) { type = ValueType::kVector; }
  AggOp op = AggOp::kSum;
  ExprPtr expr;
  ExprPtr param;  // topk/bottomk/quantile/count_values
  std::vector<std::string> grouping;
  bool without = false;
  bool has_grouping = false;  // by()/without() was written
};

// The metric names `expr` can read, or nullopt when one of its selectors
// names no single metric ({__name__=~"pg_.*"}, {job="x"}): the exporter
// stores in its TSDB only what some loaded rule can select.
std::optional<std::set<std::string>> SelectedMetricNames(const Expr& expr);

// Prints the expression as Prometheus's String() does (used by /api/v1/rules).
std::string ToString(const Expr& expr);

}  // namespace pgdr::promql

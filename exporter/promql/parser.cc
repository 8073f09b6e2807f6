// The PromQL parser: recursive descent with precedence climbing, type checks
// as Prometheus's checkAST does, and the depth bound.
#include "pgdr/promql/parser.h"

#include <cmath>
#include <limits>

#include "promql/lexer.h"

namespace pgdr::promql {
namespace {

// Thrown inside the parser only; ParseExpr turns it into a Status.
struct ParseFailure {
  std::string message;
};

int Precedence(Tok t, const std::string& text) {
  switch (t) {
    case Tok::kEqlc:
    case Tok::kNeq:
    case Tok::kLte:
    case Tok::kLss:
    case Tok::kGte:
    case Tok::kGtr:
      return 3;
    case Tok::kAdd:
    case Tok::kSub:
      return 4;
    case Tok::kMul:
    case Tok::kDiv:
    case Tok::kMod:
      return 5;
    case Tok::kPow:
      return 6;
    case Tok::kIdentifier:
      if (text == "or") return 1;
      if (text == "and" || text == "unless") return 2;
      if (text == "atan2") return 5;
      return 0;
    default:
      return 0;
  }
}

BinOp ToBinOp(Tok t, const std::string& text) {
  switch (t) {
    case Tok::kEqlc:
      return BinOp::kEq;
    case Tok::kNeq:
      return BinOp::kNe;
    case Tok::kLte:
      return BinOp::kLe;
    case Tok::kLss:
      return BinOp::kLt;
    case Tok::kGte:
      return BinOp::kGe;
    case Tok::kGtr:
      return BinOp::kGt;
    case Tok::kAdd:
      return BinOp::kAdd;
    case Tok::kSub:
      return BinOp::kSub;
    case Tok::kMul:
      return BinOp::kMul;
    case Tok::kDiv:
      return BinOp::kDiv;
    case Tok::kMod:
      return BinOp::kMod;
    case Tok::kPow:
      return BinOp::kPow;
    default:
      break;
  }
  if (text == "or") return BinOp::kOr;
  if (text == "and") return BinOp::kAnd;
  if (text == "unless") return BinOp::kUnless;
  return BinOp::kAtan2;
}

std::optional<AggOp> ToAggOp(const std::string& s) {
  static const std::pair<std::string_view, AggOp> kOps[] = {
      {"sum", AggOp::kSum},
      {"avg", AggOp::kAvg},
      {"min", AggOp::kMin},
      {"max", AggOp::kMax},
      {"count", AggOp::kCount},
      {"group", AggOp::kGroup},
      {"stddev", AggOp::kStddev},
      {"stdvar", AggOp::kStdvar},
      {"topk", AggOp::kTopk},
      {"bottomk", AggOp::kBottomk},
      {"count_values", AggOp::kCountValues},
      {"quantile", AggOp::kQuantile},
  };
  for (const auto& [name, op] : kOps) {
    if (s == name) return op;
  }
  return std::nullopt;
}

ValueType TypeOf(const Expr& e) { return e.type; }

class Parser {
 public:
  Parser(std::string_view input, std::vector<Token> tokens)
      : input_(input), toks_(std::move(tokens)) {}

  ExprPtr ParseTop() {
    ExprPtr e = ParseBinary(1);
    if (Peek().tok != Tok::kEof) Unexpected("");
    return e;
  }

  // For series descriptions: a selector followed by anything.
  tsdb::Labels ParseSeriesLabels() {
    std::string name;
    if (Peek().tok == Tok::kIdentifier) name = Next().text;
    tsdb::Labels labels;
    if (!name.empty()) labels.push_back({std::string(tsdb::kMetricName), name});
    if (Peek().tok == Tok::kLBrace) {
      Next();
      while (Peek().tok != Tok::kRBrace) {
        const Token& l = Expect(Tok::kIdentifier, "label name");
        Expect(Tok::kAssign, "\"=\"");
        const Token& v = Expect(Tok::kString, "label value");
        labels.push_back({l.text, v.text});
        if (Peek().tok == Tok::kComma) {
          Next();
        } else if (Peek().tok != Tok::kRBrace) {
          Unexpected("in label set");
        }
      }
      Next();
    } else if (name.empty()) {
      Fail(Peek().pos, "expected a series");
    }
    return tsdb::MakeLabels(std::move(labels));
  }

 private:
  const Token& Peek(size_t ahead = 0) const {
    return toks_[std::min(pos_ + ahead, toks_.size() - 1)];
  }
  const Token& Next() {
    const Token& t = toks_[pos_];
    if (pos_ + 1 < toks_.size()) ++pos_;
    return t;
  }
  bool PeekIdent(std::string_view text) const {
    return Peek().tok == Tok::kIdentifier && Peek().text == text;
  }

  [[noreturn]] void Fail(int pos, std::string_view msg) const {
    throw ParseFailure{ParseErrorAt(input_, pos, msg)};
  }
  [[noreturn]] void Unexpected(std::string_view context) const {
    const Token& t = Peek();
    std::string what = t.tok == Tok::kEof
                           ? "end of input"
                           : "\"" + std::string(input_.substr(t.pos, t.end - t.pos)) + "\"";
    std::string msg = "unexpected " + what;
    if (!context.empty()) msg += (context.front() == ';' ? "" : " ") + std::string(context);
    Fail(t.pos, msg);
  }
  const Token& Expect(Tok tok, std::string_view what) {
    if (Peek().tok != tok) Unexpected("; expected " + std::string(what));
    return Next();
  }

  template <typename T>
  T* Finish(T* node, std::initializer_list<const Expr*> children) {
    int depth = 0;
    for (const Expr* c : children) {
      if (c != nullptr) depth = std::max(depth, c->depth);
    }
    node->depth = depth + 1;
    if (node->depth > kMaxExprDepth) {
      Fail(node->pos.start,
           "expression nesting exceeds the maximum depth of " + std::to_string(kMaxExprDepth));
    }
    return node;
  }

  // Binary expressions of precedence >= min_prec.
  ExprPtr ParseBinary(int min_prec) {
    if (++nesting_ > kMaxExprDepth) {
      Fail(Peek().pos,
           "expression nesting exceeds the maximum depth of " + std::to_string(kMaxExprDepth));
    }
    ExprPtr lhs = ParseUnary();
    for (;;) {
      const Token& op_tok = Peek();
      int prec = Precedence(op_tok.tok, op_tok.text);
      if (prec == 0 || prec < min_prec) break;
      Next();
      auto bin = std::make_unique<BinaryExpr>();
      bin->op = ToBinOp(op_tok.tok, op_tok.text);
      ParseBinaryModifiers(*bin);
      ExprPtr rhs = ParseBinary(bin->op == BinOp::kPow ? prec : prec + 1);
      bin->pos = {lhs->pos.start, rhs->pos.end};
      bin->lhs = std::move(lhs);
      bin->rhs = std::move(rhs);
      CheckBinary(*bin, op_tok.pos);
      Finish(bin.get(), {bin->lhs.get(), bin->rhs.get()});
      lhs = std::move(bin);
    }
    --nesting_;
    return lhs;
  }

  std::vector<std::string> ParseLabelList() {
    Expect(Tok::kLParen, "\"(\"");
    std::vector<std::string> out;
    while (Peek().tok != Tok::kRParen) {
      const Token& t = Peek();
      if (t.tok != Tok::kIdentifier || !tsdb::IsValidLabelName(t.text))
        Unexpected("in grouping opts");
      out.push_back(Next().text);
      if (Peek().tok == Tok::kComma) {
        Next();
      } else if (Peek().tok != Tok::kRParen) {
        Unexpected("in grouping opts, expected \",\" or \")\"");
      }
    }
    Next();
    return out;
  }

  void ParseBinaryModifiers(BinaryExpr& bin) {
    if (PeekIdent("bool")) {
      Next();
      bin.return_bool = true;
    }
    VectorMatching m;
    bool any = false;
    if (PeekIdent("on") || PeekIdent("ignoring")) {
      m.on = Next().text == "on";
      m.explicit_labels = true;
      m.labels = ParseLabelList();
      any = true;
      if (PeekIdent("group_left") || PeekIdent("group_right")) {
        m.card = Next().text == "group_left" ? VectorMatching::Card::kManyToOne
                                             : VectorMatching::Card::kOneToMany;
        if (Peek().tok == Tok::kLParen) m.include = ParseLabelList();
      }
    }
    if (any) bin.matching = std::move(m);
  }

  void CheckBinary(BinaryExpr& bin, int op_pos) {
    ValueType lt = TypeOf(*bin.lhs);
    ValueType rt = TypeOf(*bin.rhs);
    const std::string op = BinOpName(bin.op);
    auto ok_type = [](ValueType t) { return t == ValueType::kScalar || t == ValueType::kVector; };
    if (!ok_type(lt) || !ok_type(rt)) {
      Fail(bin.pos.start, "binary expression must contain only scalar and instant vector types");
    }
    if (bin.return_bool && !IsComparison(bin.op)) {
      Fail(op_pos, "bool modifier can only be used on comparison operators");
    }
    if (IsComparison(bin.op) && !bin.return_bool && lt == ValueType::kScalar &&
        rt == ValueType::kScalar) {
      Fail(op_pos, "comparisons between scalars must use BOOL modifier");
    }
    if (IsSetOp(bin.op) && (lt == ValueType::kScalar || rt == ValueType::kScalar)) {
      Fail(bin.pos.start, "set operator \"" + op + "\" not allowed in binary scalar expression");
    }
    bool both_vectors = lt == ValueType::kVector && rt == ValueType::kVector;
    if (!both_vectors) {
      if (bin.matching && (bin.matching->on || !bin.matching->labels.empty())) {
        Fail(bin.pos.start, "vector matching only allowed between instant vectors");
      }
      bin.matching.reset();
    } else {
      if (!bin.matching) bin.matching.emplace();
      auto& m = *bin.matching;
      if (IsSetOp(bin.op)) {
        if (m.card == VectorMatching::Card::kManyToOne ||
            m.card == VectorMatching::Card::kOneToMany) {
          Fail(bin.pos.start, "no grouping allowed for \"" + op + "\" operation");
        }
        m.card = VectorMatching::Card::kManyToMany;
      }
      if (m.on) {
        for (const auto& inc : m.include) {
          for (const auto& l : m.labels) {
            if (inc == l) {
              Fail(bin.pos.start,
                   "label \"" + inc + "\" must not occur in ON and GROUP clause at once");
            }
          }
        }
      }
    }
    bin.type = (lt == ValueType::kScalar && rt == ValueType::kScalar) ? ValueType::kScalar
                                                                      : ValueType::kVector;
  }

  ExprPtr ParseUnary() {
    const Token& t = Peek();
    if (t.tok == Tok::kAdd || t.tok == Tok::kSub) {
      Next();
      ExprPtr operand = ParseBinary(6);
      if (operand->type != ValueType::kScalar && operand->type != ValueType::kVector) {
        Fail(t.pos,
             "unary expression only allowed on expressions of type scalar or instant vector, got "
             "\"" +
                 std::string(ValueTypeName(operand->type)) + "\"");
      }
      if (operand->kind == NodeKind::kNumber) {
        auto& n = static_cast<NumberLiteral&>(*operand);
        if (t.tok == Tok::kSub) n.value = -n.value;
        n.pos.start = t.pos;
        return operand;
      }
      auto u = std::make_unique<UnaryExpr>();
      u->negate = t.tok == Tok::kSub;
      u->pos = {t.pos, operand->pos.end};
      u->type = operand->type;
      u->expr = std::move(operand);
      Finish(u.get(), {u->expr.get()});
      return u;
    }
    return ParsePostfix(ParsePrimaryNoPostfix());
  }

  AtModifier ParseAt() {
    const Token& at = Next();  // '@'
    AtModifier mod;
    if (PeekIdent("start") || PeekIdent("end")) {
      mod.kind = Next().text == "start" ? AtModifier::Kind::kStart : AtModifier::Kind::kEnd;
      Expect(Tok::kLParen, "\"(\"");
      Expect(Tok::kRParen, "\")\"");
      return mod;
    }
    double sign = 1;
    if (Peek().tok == Tok::kAdd || Peek().tok == Tok::kSub) sign = Next().tok == Tok::kSub ? -1 : 1;
    if (Peek().tok != Tok::kNumber) Unexpected("in @, expected timestamp");
    double ts = sign * Next().number;
    if (std::isnan(ts) || std::isinf(ts) || ts >= 9.2e15 || ts <= -9.2e15) {
      Fail(at.pos, "timestamp out of bounds for @ modifier: " + FormatFloat(ts));
    }
    mod.kind = AtModifier::Kind::kTimestamp;
    mod.t_ms = static_cast<int64_t>(std::llround(ts * 1000));
    return mod;
  }

  ExprPtr ParsePostfix(ExprPtr e) {
    for (;;) {
      const Token& t = Peek();
      if (t.tok == Tok::kLBracket) {
        Next();
        const Token& range = Expect(Tok::kDuration, "duration");
        if (Peek().tok == Tok::kColon) {
          Next();
          auto sq = std::make_unique<SubqueryExpr>();
          sq->range_ms = range.duration_ms;
          if (Peek().tok == Tok::kDuration) sq->step_ms = Next().duration_ms;
          const Token& close = Expect(Tok::kRBracket, "\"]\"");
          if (e->type != ValueType::kVector) {
            Fail(e->pos.start, "subquery is only allowed on instant vector, got " +
                                   std::string(ValueTypeName(e->type)) + " instead");
          }
          sq->pos = {e->pos.start, close.end};
          sq->expr = std::move(e);
          Finish(sq.get(), {sq->expr.get()});
          e = std::move(sq);
          continue;
        }
        const Token& close = Expect(Tok::kRBracket, "\"]\" or \":\"");
        if (e->kind != NodeKind::kVectorSelector) {
          Fail(e->pos.start, "ranges only allowed for vector selectors");
        }
        auto& vs = static_cast<VectorSelector&>(*e);
        if (vs.offset_ms != 0) Fail(t.pos, "no offset modifiers allowed before range");
        if (vs.at.kind != AtModifier::Kind::kNone) {
          Fail(t.pos, "no @ modifiers allowed before range");
        }
        auto ms = std::make_unique<MatrixSelector>();
        ms->range_ms = range.duration_ms;
        ms->pos = {e->pos.start, close.end};
        ms->selector.reset(static_cast<VectorSelector*>(e.release()));
        Finish(ms.get(), {ms->selector.get()});
        e = std::move(ms);
        continue;
      }
      if (PeekIdent("offset")) {
        Next();
        int64_t sign = 1;
        if (Peek().tok == Tok::kSub || Peek().tok == Tok::kAdd) {
          sign = Next().tok == Tok::kSub ? -1 : 1;
        }
        const Token& d = Expect(Tok::kDuration, "duration");
        int64_t* offset = OffsetSlot(*e);
        if (*offset != 0) Fail(e->pos.start, "offset may not be set multiple times");
        *offset = sign * d.duration_ms;
        e->pos.end = d.end;
        continue;
      }
      if (t.tok == Tok::kAt) {
        AtModifier* slot = AtSlot(*e);
        if (slot->kind != AtModifier::Kind::kNone) {
          Fail(e->pos.start, "@ <timestamp> may not be set multiple times");
        }
        *slot = ParseAt();
        e->pos.end = toks_[pos_ - 1].end;
        continue;
      }
      return e;
    }
  }

  int64_t* OffsetSlot(Expr& e) {
    switch (e.kind) {
      case NodeKind::kVectorSelector:
        return &static_cast<VectorSelector&>(e).offset_ms;
      case NodeKind::kMatrixSelector:
        return &static_cast<MatrixSelector&>(e).selector->offset_ms;
      case NodeKind::kSubquery:
        return &static_cast<SubqueryExpr&>(e).offset_ms;
      default:
        Fail(e.pos.start,
             "offset modifier must be preceded by an instant vector selector or range vector "
             "selector or a subquery");
    }
  }

  AtModifier* AtSlot(Expr& e) {
    switch (e.kind) {
      case NodeKind::kVectorSelector:
        return &static_cast<VectorSelector&>(e).at;
      case NodeKind::kMatrixSelector:
        return &static_cast<MatrixSelector&>(e).selector->at;
      case NodeKind::kSubquery:
        return &static_cast<SubqueryExpr&>(e).at;
      default:
        Fail(e.pos.start,
             "@ modifier must be preceded by an instant vector selector or range vector selector "
             "or a subquery");
    }
  }

  ExprPtr ParsePrimaryNoPostfix() {
    const Token& t = Peek();
    switch (t.tok) {
      case Tok::kNumber: {
        Next();
        auto n = std::make_unique<NumberLiteral>();
        n->value = t.number;
        n->pos = {t.pos, t.end};
        return n;
      }
      case Tok::kString: {
        Next();
        auto s = std::make_unique<StringLiteral>();
        s->value = t.text;
        s->pos = {t.pos, t.end};
        return s;
      }
      case Tok::kLParen: {
        Next();
        auto p = std::make_unique<ParenExpr>();
        p->expr = ParseBinary(1);
        const Token& close = Expect(Tok::kRParen, "\")\"");
        p->pos = {t.pos, close.end};
        p->type = p->expr->type;
        Finish(p.get(), {p->expr.get()});
        return p;
      }
      case Tok::kLBrace:
        return ParseVectorSelector("", t.pos);
      case Tok::kIdentifier:
        return ParseIdentifier();
      case Tok::kDuration:
        Fail(t.pos,
             "unexpected duration \"" + std::string(input_.substr(t.pos, t.end - t.pos)) + "\"");
      default:
        Unexpected("");
    }
  }

  ExprPtr ParseIdentifier() {
    const Token& t = Next();
    if (auto agg = ToAggOp(t.text);
        agg && (Peek().tok == Tok::kLParen || PeekIdent("by") || PeekIdent("without"))) {
      return ParseAggregate(*agg, t);
    }
    if (Peek().tok == Tok::kLParen) {
      const FunctionSpec* spec = LookupFunction(t.text);
      if (spec == nullptr) Fail(t.pos, "unknown function with name \"" + t.text + "\"");
      return ParseCall(*spec, t);
    }
    static const std::string_view kKeywords[] = {"and",        "or",          "unless", "atan2",
                                                 "by",         "without",     "on",     "ignoring",
                                                 "group_left", "group_right", "bool",   "offset"};
    for (std::string_view k : kKeywords) {
      if (t.text == k) {
        --pos_;
        Unexpected("");
      }
    }
    if (ToAggOp(t.text)) {
      Fail(t.pos, "unexpected aggregation \"" + t.text + "\"");
    }
    return ParseVectorSelector(t.text, t.pos);
  }

  ExprPtr ParseVectorSelector(const std::string& name, int start) {
    auto vs = std::make_unique<VectorSelector>();
    vs->name = name;
    vs->pos = {start, toks_[pos_ - (name.empty() ? 0 : 1)].end};
    if (!name.empty()) {
      vs->matchers.push_back(
          *tsdb::Matcher::Make(tsdb::MatchType::kEqual, std::string(tsdb::kMetricName), name));
    }
    if (Peek().tok == Tok::kLBrace) {
      Next();
      while (Peek().tok != Tok::kRBrace) {
        const Token& l = Peek();
        if (l.tok != Tok::kIdentifier || !tsdb::IsValidLabelName(l.text))
          Unexpected("in label matching, expected label");
        Next();
        tsdb::MatchType type;
        switch (Peek().tok) {
          case Tok::kAssign:
            type = tsdb::MatchType::kEqual;
            break;
          case Tok::kNeq:
            type = tsdb::MatchType::kNotEqual;
            break;
          case Tok::kEqlRegex:
            type = tsdb::MatchType::kRegexMatch;
            break;
          case Tok::kNeqRegex:
            type = tsdb::MatchType::kRegexNoMatch;
            break;
          default:
            Unexpected("in label matching, expected label matching operator");
        }
        Next();
        const Token& v = Peek();
        if (v.tok != Tok::kString) Unexpected("in label matching, expected string");
        Next();
        auto m = tsdb::Matcher::Make(type, l.text, v.text);
        if (!m.ok()) Fail(v.pos, m.status().message());
        if (l.text == tsdb::kMetricName && !name.empty()) {
          Fail(start, "metric name must not be set twice: \"" + name + "\" or \"" + v.text + "\"");
        }
        vs->matchers.push_back(std::move(*m));
        if (Peek().tok == Tok::kComma) {
          Next();
        } else if (Peek().tok != Tok::kRBrace) {
          Unexpected("in label matching, expected \",\" or \"}\"");
        }
      }
      vs->pos.end = Next().end;
    }
    bool non_empty = false;
    for (const auto& m : vs->matchers) non_empty = non_empty || !m.Matches("");
    if (!non_empty) Fail(start, "vector selector must contain at least one non-empty matcher");
    return vs;
  }

  ExprPtr ParseCall(const FunctionSpec& spec, const Token& name) {
    auto call = std::make_unique<Call>();
    call->func = &spec;
    call->type = spec.return_type;
    Next();  // '('
    while (Peek().tok != Tok::kRParen) {
      call->args.push_back(ParseBinary(1));
      if (Peek().tok == Tok::kComma) {
        Next();
        if (Peek().tok == Tok::kRParen)
          Unexpected("in call to function \"" + std::string(spec.name) + "\"");
      } else if (Peek().tok != Tok::kRParen) {
        Unexpected("in call to function \"" + std::string(spec.name) +
                   "\", expected \",\" or \")\"");
      }
    }
    call->pos = {name.pos, Next().end};
    const int nargs = static_cast<int>(call->args.size());
    const int ntypes = static_cast<int>(spec.arg_types.size());
    if (spec.variadic == 0) {
      if (nargs != ntypes) {
        Fail(call->pos.start, "expected " + std::to_string(ntypes) + " argument(s) in call to \"" +
                                  std::string(spec.name) + "\", got " + std::to_string(nargs));
      }
    } else {
      if (nargs < ntypes - 1) {
        Fail(call->pos.start, "expected at least " + std::to_string(ntypes - 1) +
                                  " argument(s) in call to \"" + std::string(spec.name) +
                                  "\", got " + std::to_string(nargs));
      }
      if (spec.variadic > 0 && nargs > ntypes + spec.variadic - 1) {
        Fail(call->pos.start, "expected at most " + std::to_string(ntypes + spec.variadic - 1) +
                                  " argument(s) in call to \"" + std::string(spec.name) +
                                  "\", got " + std::to_string(nargs));
      }
    }
    int depth = 0;
    for (int i = 0; i < nargs; ++i) {
      ValueType want = spec.arg_types[std::min(i, ntypes - 1)];
      if (call->args[i]->type != want) {
        Fail(call->args[i]->pos.start, "expected type " + std::string(ValueTypeName(want)) +
                                           " in call to function \"" + std::string(spec.name) +
                                           "\", got " + ValueTypeName(call->args[i]->type));
      }
      depth = std::max(depth, call->args[i]->depth);
    }
    call->depth = depth + 1;
    if (call->depth > kMaxExprDepth) Fail(call->pos.start, "expression nesting too deep");
    return call;
  }

  ExprPtr ParseAggregate(AggOp op, const Token& name) {
    auto agg = std::make_unique<AggregateExpr>();
    agg->op = op;
    auto grouping = [&] {
      if (agg->has_grouping) Unexpected("");
      agg->without = Next().text == "without";
      agg->has_grouping = true;
      agg->grouping = ParseLabelList();
    };
    if (PeekIdent("by") || PeekIdent("without")) grouping();
    Expect(Tok::kLParen, "\"(\"");
    std::vector<ExprPtr> args;
    while (Peek().tok != Tok::kRParen) {
      args.push_back(ParseBinary(1));
      if (Peek().tok == Tok::kComma) {
        Next();
      } else if (Peek().tok != Tok::kRParen) {
        Unexpected("in aggregation, expected \",\" or \")\"");
      }
    }
    int end = Next().end;
    if (PeekIdent("by") || PeekIdent("without")) {
      grouping();
      end = toks_[pos_ - 1].end;
    }
    agg->pos = {name.pos, end};
    bool has_param = op == AggOp::kTopk || op == AggOp::kBottomk || op == AggOp::kQuantile ||
                     op == AggOp::kCountValues;
    size_t want = has_param ? 2 : 1;
    if (args.size() != want) {
      Fail(name.pos, "wrong number of arguments for aggregate expression provided, expected " +
                         std::to_string(want) + ", got " + std::to_string(args.size()));
    }
    if (has_param) {
      agg->param = std::move(args[0]);
      ValueType pt = op == AggOp::kCountValues ? ValueType::kString : ValueType::kScalar;
      if (agg->param->type != pt) {
        Fail(agg->param->pos.start, "expected type " + std::string(ValueTypeName(pt)) +
                                        " in aggregation parameter, got " +
                                        ValueTypeName(agg->param->type));
      }
    }
    agg->expr = std::move(args.back());
    if (agg->expr->type != ValueType::kVector) {
      Fail(agg->expr->pos.start, "expected type instant vector in aggregation expression, got " +
                                     std::string(ValueTypeName(agg->expr->type)));
    }
    if (op == AggOp::kCountValues) {
      const auto& label = static_cast<const Expr&>(*agg->param);
      if (label.kind == NodeKind::kString &&
          !tsdb::IsValidLabelName(static_cast<const StringLiteral&>(label).value)) {
        Fail(label.pos.start,
             "invalid label name \"" + static_cast<const StringLiteral&>(label).value + "\"");
      }
    }
    Finish(agg.get(), {agg->expr.get(), agg->param.get()});
    return agg;
  }

  std::string_view input_;
  std::vector<Token> toks_;
  size_t pos_ = 0;
  int nesting_ = 0;
};

template <typename F>
auto Guard(std::string_view input, F&& f) -> core::Result<decltype(f(std::declval<Parser&>()))> {
  auto tokens = Lex(input);
  if (!tokens.ok()) return tokens.status();
  Parser parser(input, std::move(*tokens));
  try {
    return f(parser);
  } catch (const ParseFailure& failure) {
    return core::Status::InvalidArgument(failure.message);
  }
}

}  // namespace

core::Result<ExprPtr> ParseExpr(std::string_view input) {
  return Guard(input, [](Parser& p) { return p.ParseTop(); });
}

core::Result<SeriesDescription> ParseSeriesDescription(std::string_view input) {
  // Lex only the selector part: values use notation ("1+2x3") the lexer rejects.
  // The selector ends at the first '}' outside quoted label values.
  size_t cut = std::string_view::npos;
  char quote = 0;
  for (size_t k = 0; k < input.size() && cut == std::string_view::npos; ++k) {
    const char c = input[k];
    if (quote != 0) {
      if (c == '\\' && quote != '`') {
        ++k;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'' || c == '`') {
      quote = c;
    } else if (c == '}') {
      cut = k;
    }
  }
  std::string_view head = input;
  if (cut != std::string_view::npos) {
    head = input.substr(0, cut + 1);
  } else {
    size_t sp = input.find_first_of(" \t");
    head = input.substr(0, sp);
  }
  auto labels = Guard(head, [](Parser& p) { return p.ParseSeriesLabels(); });
  if (!labels.ok()) return labels.status();
  SeriesDescription desc;
  desc.labels = std::move(*labels);
  std::string_view rest = input.substr(head.size());
  size_t i = 0;
  auto bad = [&](std::string_view what) {
    return core::Status::InvalidArgument("bad series value \"" + std::string(what) + "\" in \"" +
                                         std::string(input) + "\"");
  };
  auto parse_number = [](std::string_view s, double* out) {
    std::string t(s);
    std::string lower;
    for (char c : t) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "inf" || lower == "+inf") {
      *out = std::numeric_limits<double>::infinity();
      return true;
    }
    if (lower == "-inf") {
      *out = -std::numeric_limits<double>::infinity();
      return true;
    }
    if (lower == "nan") {
      *out = std::numeric_limits<double>::quiet_NaN();
      return true;
    }
    char* end = nullptr;
    *out = std::strtod(t.c_str(), &end);
    return !t.empty() && end == t.c_str() + t.size();
  };
  while (i < rest.size()) {
    while (i < rest.size() && std::isspace(static_cast<unsigned char>(rest[i]))) ++i;
    if (i >= rest.size()) break;
    size_t j = i;
    while (j < rest.size() && !std::isspace(static_cast<unsigned char>(rest[j]))) ++j;
    std::string_view item = rest.substr(i, j - i);
    i = j;
    if (item == "_") {
      desc.values.emplace_back(std::nullopt);
      continue;
    }
    if (item == "stale") {
      desc.values.emplace_back(tsdb::StaleNaN());
      continue;
    }
    size_t x = item.rfind('x');
    if (x == std::string_view::npos || x == 0) {
      double v;
      if (!parse_number(item, &v)) return bad(item);
      desc.values.emplace_back(v);
      continue;
    }
    std::string_view count_text = item.substr(x + 1);
    std::string_view expr = item.substr(0, x);
    char* end = nullptr;
    std::string count_str(count_text);
    long long count = std::strtoll(count_str.c_str(), &end, 10);
    if (count_str.empty() || end != count_str.c_str() + count_str.size() || count < 0) {
      return bad(item);
    }
    if (expr == "_") {
      for (long long k = 0; k < count; ++k) desc.values.emplace_back(std::nullopt);
      continue;
    }
    // "a+b" or "a-b" where a may itself carry a sign or exponent.
    size_t op = std::string_view::npos;
    for (size_t k = 1; k < expr.size(); ++k) {
      if ((expr[k] == '+' || expr[k] == '-') && expr[k - 1] != 'e' && expr[k - 1] != 'E') {
        op = k;
        break;
      }
    }
    double start;
    double delta = 0;
    if (op == std::string_view::npos) {
      if (!parse_number(expr, &start)) return bad(item);
    } else {
      if (!parse_number(expr.substr(0, op), &start) || !parse_number(expr.substr(op + 1), &delta)) {
        return bad(item);
      }
      if (expr[op] == '-') delta = -delta;
    }
    double v = start;
    for (long long k = 0; k <= count; ++k) {
      desc.values.emplace_back(v);
      v += delta;
    }
  }
  return desc;
}

}  // namespace pgdr::promql

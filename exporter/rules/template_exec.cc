// Tree -> text: Go 1.20's text/template exec.go (missingkey=zero), with its
// error messages and their "NAME:LINE:COL ... at <node>" context.
#include <optional>

#include "rules/template_tree.h"

namespace pgdr::rules {
namespace tmpl {
namespace {

struct BreakSignal {};
struct ContinueSignal {};

// Go's maxExecDepth is 100000 on a growable stack; ours is fixed.
constexpr int kMaxExecDepth = 1000;
// And if/with/range/template nested at run time (a recursive template whose
// body nests), all templates together: bounded, for the same reason.
constexpr int kMaxNesting = 3000;

class Executor {
 public:
  Executor(const Tree& tree, const TemplateData& data, const std::string& name, Value dot,
           int depth, int& nesting)
      : tree_(tree), data_(data), name_(name), depth_(depth), nesting_(nesting) {
    vars_.push_back({"$", std::move(dot)});
  }

  void Run(const Node& root, const Value& dot, std::string& out) { Walk(dot, root, out); }

 private:
  struct Var {
    std::string name;
    Value value;
  };
  // s.node: what the error context names.
  struct At {
    int pos = -1;
    std::string text;
  };

  [[noreturn]] void Errorf(const std::string& msg) const {
    std::string name = name_;
    if (at_.pos < 0) throw TemplateFailure{"template: " + name + ": " + msg};
    size_t pos = static_cast<size_t>(at_.pos);
    std::string_view before = std::string_view(tree_.text).substr(0, pos);
    size_t nl = before.rfind('\n');
    size_t col = nl == std::string_view::npos ? pos : pos - (nl + 1);
    int line = 1;
    for (char c : before) line += c == '\n';
    const std::string& context = at_.text;
    throw TemplateFailure{"template: " + tree_.name + ":" + std::to_string(line) + ":" +
                          std::to_string(col) + ": executing " + GoQuote(name) + " at <" + context +
                          ">: " + msg};
  }

  void AtArg(const Arg& a) { at_ = {a.pos, a.String()}; }
  void AtCmd(const Command& c) { at_ = {c.pos, c.String()}; }
  void AtPipe(const Pipe& p) { at_ = {p.pos, p.String()}; }
  void AtNode(const Node& n) { at_ = {n.pos, n.String()}; }

  size_t Mark() const { return vars_.size(); }
  void Pop(size_t mark) { vars_.resize(mark); }
  const Value& VarValue(const std::string& name) {
    for (size_t i = vars_.size(); i-- > 0;) {
      if (vars_[i].name == name) return vars_[i].value;
    }
    Errorf("undefined variable: " + name);
  }
  void SetVar(const std::string& name, const Value& v) {
    for (size_t i = vars_.size(); i-- > 0;) {
      if (vars_[i].name == name) {
        vars_[i].value = v;
        return;
      }
    }
    Errorf("undefined variable: " + name);
  }

  // Counts the nesting of control nodes across template calls.
  class Nest {
   public:
    explicit Nest(Executor& e) : e_(e) {
      if (++e_.nesting_ > kMaxNesting) {
        e_.Errorf("template nesting deeper than " + std::to_string(kMaxNesting));
      }
    }
    ~Nest() { --e_.nesting_; }
    Nest(const Nest&) = delete;
    Nest& operator=(const Nest&) = delete;

   private:
    Executor& e_;
  };

  void Walk(const Value& dot, const Node& node, std::string& out) {
    AtNode(node);
    std::optional<Nest> nest;
    if (node.kind != Node::Kind::kText && node.kind != Node::Kind::kAction) nest.emplace(*this);
    switch (node.kind) {
      case Node::Kind::kList:
        for (const Node& n : node.list) Walk(dot, n, out);
        return;
      case Node::Kind::kText:
        out += node.text;
        return;
      case Node::Kind::kAction: {
        Value v = EvalPipeline(dot, *node.pipe);
        if (node.pipe->decl.empty()) PrintValue(node, v, out);
        return;
      }
      case Node::Kind::kIf:
      case Node::Kind::kWith: {
        size_t mark = Mark();
        Value v = EvalPipeline(dot, *node.pipe);
        if (Truth(v)) {
          WalkList(node.kind == Node::Kind::kWith ? v : dot, node.list, out);
        } else if (node.has_else) {
          WalkList(dot, node.else_list, out);
        }
        Pop(mark);
        return;
      }
      case Node::Kind::kRange:
        WalkRange(dot, node, out);
        return;
      case Node::Kind::kTemplate:
        WalkTemplate(dot, node, out);
        return;
      case Node::Kind::kBreak:
        throw BreakSignal{};
      case Node::Kind::kContinue:
        throw ContinueSignal{};
    }
  }

  void WalkList(const Value& dot, const std::vector<Node>& list, std::string& out) {
    for (const Node& n : list) Walk(dot, n, out);
  }

  void PrintValue(const Node& node, const Value& v, std::string& out) {
    AtNode(node);
    if (v.kind == Value::Kind::kInvalid) {
      out += "<no value>";
    } else if (v.kind == Value::Kind::kSample && v.sample) {
      std::string s = Sprint(v);
      out += s.substr(1);  // printValue dereferences the pointer: no '&'
    } else {
      out += Sprint(v);
    }
  }

  void WalkRange(const Value& dot, const Node& r, std::string& out) {
    AtNode(r);
    size_t outer = Mark();
    Value val = EvalPipeline(dot, *r.pipe);
    size_t mark = Mark();
    const size_t decls = r.pipe->decl.size();
    auto one = [&](const Value& index, const Value& elem) -> bool {
      if (decls > 0) vars_[vars_.size() - 1].value = elem;
      if (decls > 1) vars_[vars_.size() - 2].value = index;
      bool stop = false;
      try {
        WalkList(elem, r.list, out);
      } catch (const ContinueSignal&) {
      } catch (const BreakSignal&) {
        stop = true;
      }
      Pop(mark);
      return !stop;
    };
    bool empty = true;
    switch (val.kind) {
      case Value::Kind::kResult:
        if (val.result) {
          for (size_t i = 0; i < val.result->size(); ++i) {
            empty = false;
            Value s;
            s.kind = Value::Kind::kSample;
            s.sample = (*val.result)[i];
            if (!one(Int(static_cast<int64_t>(i)), s)) break;
          }
        }
        break;
      case Value::Kind::kStrMap:
        for (const auto& [k, v] : *val.smap) {
          empty = false;
          if (!one(String(k), String(v))) break;
        }
        break;
      case Value::Kind::kAnyMap:
        for (const auto& [k, v] : *val.amap) {
          empty = false;
          if (!one(String(k), v)) break;
        }
        break;
      case Value::Kind::kInvalid:
        break;
      default: {
        Value shown = val;
        std::string s = Sprint(shown);
        if (val.kind == Value::Kind::kSample && val.sample) s = s.substr(1);
        Errorf("range can't iterate over " + s);
      }
    }
    if (empty && r.has_else) WalkList(dot, r.else_list, out);
    Pop(outer);
  }

  void WalkTemplate(const Value& dot, const Node& t, std::string& out) {
    AtNode(t);
    auto it = tree_.templates.find(t.text);
    if (it == tree_.templates.end()) Errorf("template " + GoQuote(t.text) + " not defined");
    if (depth_ + 1 >= kMaxExecDepth) {
      Errorf("exceeded maximum template depth (" + std::to_string(kMaxExecDepth) + ")");
    }
    Value new_dot = t.pipe ? EvalPipeline(dot, *t.pipe) : Value{};
    Executor inner(tree_, data_, it->first, new_dot, depth_ + 1, nesting_);
    inner.Run(it->second, new_dot, out);
  }

  Value EvalPipeline(const Value& dot, const Pipe& pipe) {
    AtPipe(pipe);
    std::optional<Value> value;
    for (const Command& cmd : pipe.cmds) value = EvalCommand(dot, cmd, value);
    Value v = value.value_or(Value{});
    for (const std::string& name : pipe.decl) {
      if (pipe.is_assign) {
        SetVar(name, v);
      } else {
        vars_.push_back({name, v});
      }
    }
    return v;
  }

  void NotAFunction(const std::vector<Arg>& args, const std::optional<Value>& final) {
    if (args.size() > 1 || final) {
      Errorf("can't give argument to non-function " + args[0].String());
    }
  }

  Value EvalCommand(const Value& dot, const Command& cmd, const std::optional<Value>& final) {
    const Arg& first = cmd.args[0];
    switch (first.kind) {
      case Arg::Kind::kField:
        AtArg(first);
        return EvalFieldChain(dot, first.fields, cmd.args, final);
      case Arg::Kind::kChain:
        return EvalChain(dot, first, cmd.args, final);
      case Arg::Kind::kIdent:
        AtArg(first);
        return EvalCall(dot, first.name, &cmd, nullptr, cmd.args, final);
      case Arg::Kind::kPipe:
        NotAFunction(cmd.args, final);
        return EvalPipeline(dot, *first.pipe);
      case Arg::Kind::kVar:
        return EvalVariable(first, cmd.args, final);
      default:
        break;
    }
    AtArg(first);
    NotAFunction(cmd.args, final);
    switch (first.kind) {
      case Arg::Kind::kBool:
        return Bool(first.truth);
      case Arg::Kind::kDot:
        return dot;
      case Arg::Kind::kNil:
        Errorf("nil is not a command");
      case Arg::Kind::kNumber:
        return IdealConstant(first);
      case Arg::Kind::kString:
        return String(first.name);
      default:
        break;
    }
    Errorf("can't evaluate command " + GoQuote(first.String()));
  }

  Value IdealConstant(const Arg& n) {
    AtArg(n);
    bool hex_int = n.name.size() > 2 && n.name[0] == '0' &&
                   (n.name[1] == 'x' || n.name[1] == 'X') &&
                   n.name.find_first_of("pP") == std::string::npos;
    bool rune = !n.name.empty() && n.name[0] == '\'';
    if (n.is_float && !hex_int && !rune && n.name.find_first_of(".eEpP") != std::string::npos) {
      return Float(n.float_value);
    }
    if (n.is_int) return Int(n.int_value);
    if (n.is_uint) Errorf(n.name + " overflows int");
    return Value{};
  }

  Value EvalVariable(const Arg& v, const std::vector<Arg>& args,
                     const std::optional<Value>& final) {
    AtArg(v);
    Value value = VarValue(v.name);
    if (v.fields.empty()) {
      NotAFunction(args, final);
      return value;
    }
    return EvalFieldChain(value, v.fields, args, final);
  }

  Value EvalChain(const Value& dot, const Arg& chain, const std::vector<Arg>& args,
                  const std::optional<Value>& final) {
    AtArg(chain);
    const Arg& inner = chain.pipe->cmds[0].args[0];
    if (inner.kind == Arg::Kind::kNil)
      Errorf("indirection through explicit nil in " + chain.String());
    Value receiver = EvalArg(dot, Param::kAny, inner);
    return EvalFieldChain(receiver, chain.fields, args, final);
  }

  Value EvalFieldChain(Value receiver, const std::vector<std::string>& fields,
                       const std::vector<Arg>& args, const std::optional<Value>& final) {
    static const std::vector<Arg> kNoArgs;
    for (size_t i = 0; i + 1 < fields.size(); ++i) {
      receiver = EvalField(fields[i], kNoArgs, std::nullopt, receiver);
    }
    return EvalField(fields.back(), args, final, receiver);
  }

  Value EvalField(const std::string& field, const std::vector<Arg>& args,
                  const std::optional<Value>& final, const Value& receiver) {
    if (receiver.kind == Value::Kind::kInvalid) return Value{};
    const bool has_args = args.size() > 1 || final;
    auto struct_field = [&](const Value& v) {
      if (has_args) Errorf(field + " has arguments but cannot be invoked as function");
      return v;
    };
    switch (receiver.kind) {
      case Value::Kind::kData: {
        const TemplateData& d = *receiver.data;
        if (field == "Labels") return struct_field(StrMap(d.labels));
        if (field == "ExternalLabels") return struct_field(StrMap(d.external_labels));
        if (field == "ExternalURL") return struct_field(String(d.external_url));
        if (field == "Value") return struct_field(Float(d.value));
        break;
      }
      case Value::Kind::kSample:
        if (field != "Labels" && field != "Value") break;
        if (!receiver.sample) Errorf("nil pointer evaluating *template.sample." + field);
        if (field == "Labels") return struct_field(StrMap(receiver.sample->labels));
        return struct_field(Float(receiver.sample->value));
      case Value::Kind::kStrMap: {
        if (has_args) Errorf(field + " is not a method but has arguments");
        auto it = receiver.smap->find(field);
        return String(it == receiver.smap->end() ? "" : it->second);
      }
      case Value::Kind::kAnyMap: {
        if (has_args) Errorf(field + " is not a method but has arguments");
        auto it = receiver.amap->find(field);
        return it == receiver.amap->end() ? Value{} : it->second;
      }
      case Value::Kind::kTime:
        if (field == "Unix" || field == "UnixMilli" || field == "UnixNano" || field == "String") {
          if (has_args) {
            Errorf("wrong number of args for " + field + ": want 0 got " +
                   std::to_string(args.size() - 1 + (final ? 1 : 0)));
          }
          if (field == "Unix") return Int(receiver.i / 1'000'000'000);
          if (field == "UnixMilli") return Int(receiver.i / 1'000'000);
          if (field == "UnixNano") return Int(receiver.i);
          return String(Sprint(receiver));
        }
        break;
      default:
        break;
    }
    Errorf("can't evaluate field " + field + " in type " + TypeName(receiver));
  }

  // kReflect: a builtin's reflect.Value parameter takes nil as the zero Value.
  static bool CanBeNil(Param p) { return p != Param::kString && p != Param::kFloat; }
  static std::string ParamName(Param p) {
    switch (p) {
      case Param::kAny:
        return "interface {}";
      case Param::kString:
        return "string";
      case Param::kFloat:
        return "float64";
      case Param::kResult:
        return "template.queryResult";
      case Param::kSample:
        return "*template.sample";
      case Param::kReflect:
        return "reflect.Value";
    }
    return "";
  }

  Value ValidateType(const Value& v, Param p) {
    if (v.kind == Value::Kind::kInvalid) {
      if (p == Param::kReflect || p == Param::kAny) return v;
      if (p == Param::kResult) {
        Value r;
        r.kind = Value::Kind::kResult;
        return r;
      }
      if (p == Param::kSample) {
        Value r;
        r.kind = Value::Kind::kSample;
        return r;
      }
      Errorf("invalid value; expected " + ParamName(p));
    }
    bool ok = true;
    switch (p) {
      case Param::kAny:
      case Param::kReflect:
        break;
      case Param::kString:
        ok = v.kind == Value::Kind::kString;
        break;
      case Param::kFloat:
        ok = v.kind == Value::Kind::kFloat;
        break;
      case Param::kResult:
        ok = v.kind == Value::Kind::kResult;
        break;
      case Param::kSample:
        ok = v.kind == Value::Kind::kSample;
        break;
    }
    if (!ok) Errorf("wrong type for value; expected " + ParamName(p) + "; got " + TypeName(v));
    return v;
  }

  Value EvalArg(const Value& dot, Param p, const Arg& n) {
    AtArg(n);
    switch (n.kind) {
      case Arg::Kind::kDot:
        return ValidateType(dot, p);
      case Arg::Kind::kNil:
        if (CanBeNil(p)) return ValidateType(Value{}, p);
        Errorf("cannot assign nil to " + ParamName(p));
      case Arg::Kind::kField:
        return ValidateType(EvalFieldChain(dot, n.fields, {n}, std::nullopt), p);
      case Arg::Kind::kVar:
        return ValidateType(EvalVariable(n, {}, std::nullopt), p);
      case Arg::Kind::kPipe:
        return ValidateType(EvalPipeline(dot, *n.pipe), p);
      case Arg::Kind::kIdent:
        return ValidateType(EvalCall(dot, n.name, nullptr, &n, {}, std::nullopt), p);
      case Arg::Kind::kChain:
        return ValidateType(EvalChain(dot, n, {}, std::nullopt), p);
      default:
        break;
    }
    switch (p) {
      case Param::kString:
        if (n.kind == Arg::Kind::kString) return String(n.name);
        Errorf("expected string; found " + n.String());
      case Param::kFloat:
        if (n.kind == Arg::Kind::kNumber && n.is_float) return Float(n.float_value);
        Errorf("expected float; found " + n.String());
      case Param::kAny:
      case Param::kReflect:
        if (n.kind == Arg::Kind::kBool) return Bool(n.truth);
        if (n.kind == Arg::Kind::kNumber) return IdealConstant(n);
        return String(n.name);
      default:
        Errorf("can't handle " + n.String() + " for arg of type " + ParamName(p));
    }
  }

  // cmd: the command the error names (nil: the identifier `ident` alone,
  // when a function is an argument).
  Value EvalCall(const Value& dot, const std::string& name, const Command* cmd, const Arg* ident,
                 const std::vector<Arg>& all_args, const std::optional<Value>& final) {
    const Function* fn = FindFunction(name);
    if (fn == nullptr) Errorf(GoQuote(name) + " is not a defined function");
    const size_t nargs = all_args.empty() ? 0 : all_args.size() - 1;
    auto arg = [&](size_t i) -> const Arg& { return all_args[i + 1]; };
    const size_t num_in = nargs + (final ? 1 : 0);
    const size_t nparams = fn->params.size();
    size_t num_fixed = nargs;
    if (fn->variadic) {
      num_fixed = nparams - 1;
      if (num_in < num_fixed) {
        Errorf("wrong number of args for " + name + ": want at least " + std::to_string(num_fixed) +
               " got " + std::to_string(nargs));
      }
    } else if (num_in != nparams) {
      Errorf("wrong number of args for " + name + ": want " + std::to_string(nparams) + " got " +
             std::to_string(num_in));
    }
    if (fn->builtin && (name == "and" || name == "or")) {
      Value v;
      for (size_t i = 0; i < nargs; ++i) {
        v = EvalArg(dot, Param::kReflect, arg(i));
        if (Truth(v) == (name == "or")) return v;
      }
      if (final) v = *final;
      return v;
    }
    std::vector<Value> argv;
    size_t i = 0;
    for (; i < num_fixed && i < nargs; ++i) argv.push_back(EvalArg(dot, fn->params[i], arg(i)));
    if (fn->variadic) {
      for (; i < nargs; ++i) argv.push_back(EvalArg(dot, fn->params.back(), arg(i)));
    }
    if (final) {
      Param t = fn->params.back();
      if (fn->variadic && num_in - 1 < num_fixed) t = fn->params[num_in - 1];
      argv.push_back(ValidateType(*final, t));
    }
    try {
      return fn->call(argv, data_);
    } catch (const CallError& e) {
      if (cmd != nullptr) {
        AtCmd(*cmd);
      } else {
        AtArg(*ident);
      }
      Errorf("error calling " + name + ": " + e.message);
    }
  }

  const Tree& tree_;
  const TemplateData& data_;
  const std::string& name_;
  const int depth_;
  int& nesting_;  // shared by the executors of one expansion
  std::vector<Var> vars_;
  At at_;
};

}  // namespace

std::string Expand(const Tree& tree, const TemplateData& data) {
  Value dot;
  dot.kind = Value::Kind::kData;
  dot.data = &data;
  auto it = tree.templates.find(tree.name);
  if (it == tree.templates.end()) {
    throw TemplateFailure{"template: " + tree.name + ": " + GoQuote(tree.name) +
                          " is an incomplete or empty template"};
  }
  int nesting = 0;
  Executor exec(tree, data, tree.name, dot, 0, nesting);
  std::string out;
  exec.Run(it->second, dot, out);
  return out;
}

}  // namespace tmpl

core::Result<Template> Template::Parse(std::string_view name, std::string_view text) {
  try {
    Template t;
    t.tree_ =
        std::make_shared<const tmpl::Tree>(tmpl::ParseTree(std::string(name), std::string(text)));
    return t;
  } catch (const tmpl::TemplateFailure& f) {
    return core::Status::InvalidArgument(f.message);
  }
}

core::Result<std::string> Template::Expand(const TemplateData& data) const {
  try {
    return tmpl::Expand(*tree_, data);
  } catch (const tmpl::TemplateFailure& f) {
    return core::Status::InvalidArgument(f.message);
  }
}

std::string AlertTemplateText(std::string_view text) {
  return "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}"
         "{{$externalURL := .ExternalURL}}{{$value := .Value}}" +
         std::string(text);
}

std::string ExpandAlertTemplate(std::string_view name, std::string_view text,
                                const TemplateData& data) {
  // The prefix prints nothing: text without actions is itself.
  if (text.find("{{") == std::string_view::npos) return std::string(text);
  auto t = Template::Parse(name, AlertTemplateText(text));
  if (!t.ok()) {
    return "<error expanding template: error parsing template " + std::string(name) + ": " +
           t.status().message() + ">";
  }
  auto out = t->Expand(data);
  if (!out.ok()) {
    return "<error expanding template: error executing template " + std::string(name) + ": " +
           out.status().message() + ">";
  }
  return *out;
}

std::string FormatG4(double v) { return tmpl::FormatG4Value(v); }

}  // namespace pgdr::rules

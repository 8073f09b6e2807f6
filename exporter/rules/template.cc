// A Go text/template subset for alert labels and annotations.
#include "rules/template.h"

#include <re2/re2.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <functional>
#include <variant>
#include <vector>

#include "pgdr/core/strings.h"
#include "pgdr/promql/parser.h"

namespace pgdr::rules {
namespace {

struct TemplateFailure {
  std::string message;
};

struct Val {
  enum class Kind { kNil, kBool, kNum, kStr, kMap, kData } kind = Kind::kNil;
  bool b = false;
  double n = 0;
  std::string s;
  std::map<std::string, std::string> m;
};

Val Num(double v) {
  Val r;
  r.kind = Val::Kind::kNum;
  r.n = v;
  return r;
}
Val Str(std::string v) {
  Val r;
  r.kind = Val::Kind::kStr;
  r.s = std::move(v);
  return r;
}
Val Bool(bool v) {
  Val r;
  r.kind = Val::Kind::kBool;
  r.b = v;
  return r;
}
Val MapVal(const std::map<std::string, std::string>& m) {
  Val r;
  r.kind = Val::Kind::kMap;
  r.m = m;
  return r;
}

std::string Print(const Val& v) {
  switch (v.kind) {
    case Val::Kind::kNil:
      return "<no value>";
    case Val::Kind::kBool:
      return v.b ? "true" : "false";
    case Val::Kind::kNum:
      return promql::FormatFloat(v.n);
    case Val::Kind::kStr:
      return v.s;
    case Val::Kind::kMap:
    case Val::Kind::kData: {
      std::string out = "map[";
      bool first = true;
      for (const auto& [k, val] : v.m) {
        if (!first) out += " ";
        first = false;
        out += k + ":" + val;
      }
      return out + "]";
    }
  }
  return "";
}

bool Truth(const Val& v) {
  switch (v.kind) {
    case Val::Kind::kNil:
      return false;
    case Val::Kind::kBool:
      return v.b;
    case Val::Kind::kNum:
      return v.n != 0;
    case Val::Kind::kStr:
      return !v.s.empty();
    case Val::Kind::kMap:
      return !v.m.empty();
    case Val::Kind::kData:
      return true;
  }
  return false;
}

double ToFloat(const Val& v, std::string_view fn) {
  if (v.kind == Val::Kind::kNum) return v.n;
  if (v.kind == Val::Kind::kStr) {
    char* end = nullptr;
    double d = std::strtod(v.s.c_str(), &end);
    if (!v.s.empty() && end == v.s.c_str() + v.s.size()) return d;
    throw TemplateFailure{"error calling " + std::string(fn) + ": strconv.ParseFloat: parsing \"" +
                          v.s + "\": invalid syntax"};
  }
  throw TemplateFailure{"error calling " + std::string(fn) + ": can't convert to float"};
}

std::string Sprintf(const char* fmt, double v) {
  char buf[128];
  std::snprintf(buf, sizeof(buf), fmt, v);
  return buf;
}

struct Operand;
using Pipeline = std::vector<std::vector<Operand>>;  // commands of operands

struct Operand {
  enum class Kind { kFunc, kVar, kDot, kString, kNumber, kBool, kSub } kind;
  std::string name;                 // function or variable name
  std::vector<std::string> fields;  // .a.b after a variable, dot or sub-pipeline
  std::string text;
  double number = 0;
  std::shared_ptr<Pipeline> sub;
};

}  // namespace

struct Template::Node {
  enum class Kind { kList, kText, kAction, kAssign, kIf } kind = Kind::kList;
  std::string text;                                              // kText; variable name for kAssign
  Pipeline pipeline;                                             // kAction, kAssign
  std::vector<std::pair<Pipeline, std::vector<Node>>> branches;  // kIf
  std::vector<Node> else_body;                                   // kIf
  std::vector<Node> children;                                    // kList
};

namespace {

using Node = Template::Node;

const std::vector<std::string_view>& FunctionNames() {
  static const std::vector<std::string_view> kNames = {"humanize",
                                                       "humanize1024",
                                                       "humanizeDuration",
                                                       "humanizePercentage",
                                                       "humanizeTimestamp",
                                                       "printf",
                                                       "title",
                                                       "toUpper",
                                                       "toLower",
                                                       "reReplaceAll",
                                                       "match",
                                                       "eq",
                                                       "ne",
                                                       "lt",
                                                       "le",
                                                       "gt",
                                                       "ge",
                                                       "and",
                                                       "or",
                                                       "not",
                                                       "len",
                                                       "index",
                                                       "print"};
  return kNames;
}

class Parser {
 public:
  Parser(std::string_view name, std::string_view text) : name_(name), text_(text) {}

  Node Parse() {
    Node root;
    std::string stop = ParseList(root.children);
    if (!stop.empty()) Fail("unexpected {{" + stop + "}}");
    return root;
  }

 private:
  [[noreturn]] void Fail(const std::string& msg) const {
    throw TemplateFailure{"template: " + std::string(name_) + ":" + std::to_string(line_) + ": " +
                          msg};
  }

  // Parses nodes until {{end}}, {{else...}} or the end; returns the stopping
  // action's text ("end", "else", "else if ...") or "" at the end.
  std::string ParseList(std::vector<Node>& out) {
    while (pos_ < text_.size()) {
      size_t open = text_.find("{{", pos_);
      std::string text(text_.substr(
          pos_, open == std::string_view::npos ? std::string_view::npos : open - pos_));
      bool trim_left = open != std::string_view::npos && open + 2 < text_.size() &&
                       text_[open + 2] == '-' && open + 3 < text_.size() &&
                       std::isspace(static_cast<unsigned char>(text_[open + 3]));
      if (trim_left) {
        while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
          text.pop_back();
      }
      if (!text.empty()) {
        Node t;
        t.kind = Node::Kind::kText;
        t.text = text;
        out.push_back(std::move(t));
      }
      for (char c :
           text_.substr(pos_, open == std::string_view::npos ? text_.size() - pos_ : open - pos_)) {
        if (c == '\n') ++line_;
      }
      if (open == std::string_view::npos) {
        pos_ = text_.size();
        return "";
      }
      size_t close = text_.find("}}", open + 2);
      if (close == std::string_view::npos) Fail("unclosed action");
      std::string_view inner = text_.substr(open + 2, close - open - 2);
      pos_ = close + 2;
      if (!inner.empty() && inner.front() == '-' && trim_left) inner.remove_prefix(1);
      if (inner.size() >= 2 && inner.back() == '-' &&
          std::isspace(static_cast<unsigned char>(inner[inner.size() - 2]))) {
        inner.remove_suffix(1);
        while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) {
          if (text_[pos_] == '\n') ++line_;
          ++pos_;
        }
      }
      std::string action = Trim(inner);
      if (action.rfind("/*", 0) == 0) continue;  // comment
      if (action == "end" || action == "else" || action.rfind("else ", 0) == 0) return action;
      if (action == "if" || action.rfind("if ", 0) == 0) {
        if (Trim(action.substr(2)).empty()) Fail("missing value for if");
        out.push_back(ParseIf(action.substr(3)));
        continue;
      }
      if (action.rfind("range ", 0) == 0 || action.rfind("with ", 0) == 0 ||
          action.rfind("define ", 0) == 0 || action.rfind("template ", 0) == 0 ||
          action.rfind("block ", 0) == 0) {
        Fail("unsupported action \"" + action.substr(0, action.find(' ')) + "\"");
      }
      Node n;
      if (action.size() > 1 && action[0] == '$') {
        size_t assign = action.find(":=");
        if (assign != std::string::npos) {
          n.kind = Node::Kind::kAssign;
          n.text = Trim(action.substr(0, assign));
          n.pipeline = ParsePipeline(action.substr(assign + 2));
          out.push_back(std::move(n));
          continue;
        }
      }
      n.kind = Node::Kind::kAction;
      n.pipeline = ParsePipeline(action);
      out.push_back(std::move(n));
    }
    return "";
  }

  // Nesting ({{if}} in {{if}}, parentheses) is bounded: no stack overflow.
  static constexpr int kMaxNesting = 100;
  void Enter() {
    if (++nesting_ > kMaxNesting)
      Fail("template nesting deeper than " + std::to_string(kMaxNesting));
  }

  Node ParseIf(const std::string& cond) {
    Enter();
    Node n;
    n.kind = Node::Kind::kIf;
    std::string current = cond;
    for (;;) {
      std::vector<Node> body;
      std::string stop = ParseList(body);
      n.branches.push_back({ParsePipeline(current), std::move(body)});
      if (stop == "end") {
        --nesting_;
        return n;
      }
      if (stop.rfind("else if ", 0) == 0) {
        current = stop.substr(8);
        continue;
      }
      if (stop == "else") {
        std::string end = ParseList(n.else_body);
        if (end != "end") Fail("expected {{end}}");
        --nesting_;
        return n;
      }
      Fail("unexpected EOF");
    }
  }

  static std::string Trim(std::string_view s) { return std::string(core::Trim(s)); }

  Pipeline ParsePipeline(std::string_view s) {
    size_t i = 0;
    Pipeline p = ParsePipelineAt(s, i, false);
    if (p.empty() || p.back().empty()) Fail("missing value for command");
    return p;
  }

  std::vector<std::string> ParseFields(std::string_view s, size_t& i) {
    std::vector<std::string> fields;
    while (i < s.size() && s[i] == '.') {
      size_t j = i + 1;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      if (j == i + 1) break;
      fields.emplace_back(s.substr(i + 1, j - i - 1));
      i = j;
    }
    return fields;
  }

  Pipeline ParsePipelineAt(std::string_view s, size_t& i, bool in_parens) {
    Pipeline p(1);
    while (i < s.size()) {
      char c = s[i];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i;
        continue;
      }
      if (c == '|') {
        if (p.back().empty()) Fail("missing command before |");
        p.emplace_back();
        ++i;
        continue;
      }
      if (c == ')') {
        if (!in_parens) Fail("unexpected right paren");
        ++i;
        return p;
      }
      Operand op;
      if (c == '(') {
        ++i;
        op.kind = Operand::Kind::kSub;
        Enter();
        op.sub = std::make_shared<Pipeline>(ParsePipelineAt(s, i, true));
        --nesting_;
        op.fields = ParseFields(s, i);
      } else if (c == '"' || c == '`') {
        size_t j = i + 1;
        while (j < s.size() && s[j] != c) j += (c == '"' && s[j] == '\\') ? 2 : 1;
        if (j >= s.size()) Fail("unterminated quoted string");
        auto text = promql::Unquote(s.substr(i, j - i + 1));
        if (!text.ok()) Fail("invalid syntax");  // as Go's strconv.Unquote
        op.kind = Operand::Kind::kString;
        op.text = std::move(*text);
        i = j + 1;
      } else if (c == '$') {
        size_t j = i + 1;
        while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
        op.kind = Operand::Kind::kVar;
        op.name = std::string(s.substr(i, j - i));
        i = j;
        op.fields = ParseFields(s, i);
      } else if (c == '.') {
        op.kind = Operand::Kind::kDot;
        op.fields = ParseFields(s, i);
        if (op.fields.empty()) ++i;
      } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+') {
        size_t j = i + 1;
        while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '.' ||
                                s[j] == '+' || s[j] == '-')) {
          ++j;
        }
        std::string num(s.substr(i, j - i));
        char* end = nullptr;
        op.kind = Operand::Kind::kNumber;
        op.number = std::strtod(num.c_str(), &end);
        if (end != num.c_str() + num.size()) Fail("bad number syntax: \"" + num + "\"");
        i = j;
      } else if (std::isalpha(static_cast<unsigned char>(c))) {
        size_t j = i;
        while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
        std::string word(s.substr(i, j - i));
        i = j;
        if (word == "true" || word == "false") {
          op.kind = Operand::Kind::kBool;
          op.number = word == "true";
        } else if (word == "nil") {
          Fail("nil is not a command");
        } else {
          bool known = false;
          for (auto f : FunctionNames()) known = known || f == word;
          if (!known) Fail("function \"" + word + "\" not defined");
          op.kind = Operand::Kind::kFunc;
          op.name = word;
        }
      } else {
        Fail(std::string("unexpected \"") + c + "\" in command");
      }
      p.back().push_back(std::move(op));
    }
    if (in_parens) Fail("unclosed left paren");
    return p;
  }

  std::string_view name_;
  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
  int nesting_ = 0;
};

class Executor {
 public:
  Executor(const TemplateData& data, std::string_view name) : name_(name) {
    dot_.kind = Val::Kind::kData;
    vars_["$labels"] = MapVal(data.labels);
    vars_["$externalLabels"] = MapVal(data.external_labels);
    vars_["$externalURL"] = Str(data.external_url);
    vars_["$value"] = Num(data.value);
    vars_["$"] = dot_;
    data_ = &data;
  }

  void Run(const std::vector<Node>& nodes, std::string& out) {
    for (const Node& n : nodes) {
      switch (n.kind) {
        case Node::Kind::kText:
          out += n.text;
          break;
        case Node::Kind::kAction:
          out += Print(EvalPipeline(n.pipeline));
          break;
        case Node::Kind::kAssign:
          vars_[n.text] = EvalPipeline(n.pipeline);
          break;
        case Node::Kind::kIf: {
          bool done = false;
          for (const auto& [cond, body] : n.branches) {
            if (Truth(EvalPipeline(cond))) {
              Run(body, out);
              done = true;
              break;
            }
          }
          if (!done) Run(n.else_body, out);
          break;
        }
        case Node::Kind::kList:
          Run(n.children, out);
          break;
      }
    }
  }

 private:
  [[noreturn]] void Fail(const std::string& msg) const {
    throw TemplateFailure{"template: " + std::string(name_) + ": executing \"" +
                          std::string(name_) + "\": " + msg};
  }

  Val Field(Val v, const std::vector<std::string>& fields) {
    for (const std::string& f : fields) {
      if (v.kind == Val::Kind::kData) {
        if (f == "Labels") {
          v = MapVal(data_->labels);
        } else if (f == "ExternalLabels") {
          v = MapVal(data_->external_labels);
        } else if (f == "ExternalURL") {
          v = Str(data_->external_url);
        } else if (f == "Value") {
          v = Num(data_->value);
        } else {
          Fail("can't evaluate field " + f);
        }
      } else if (v.kind == Val::Kind::kMap) {
        auto it = v.m.find(f);
        v = Str(it == v.m.end() ? "" : it->second);
      } else {
        Fail("can't evaluate field " + f + " in type " + Print(v));
      }
    }
    return v;
  }

  Val EvalOperand(const Operand& op) {
    switch (op.kind) {
      case Operand::Kind::kString:
        return Str(op.text);
      case Operand::Kind::kNumber:
        return Num(op.number);
      case Operand::Kind::kBool:
        return Bool(op.number != 0);
      case Operand::Kind::kDot:
        return Field(dot_, op.fields);
      case Operand::Kind::kVar: {
        auto it = vars_.find(op.name);
        if (it == vars_.end()) Fail("undefined variable: " + op.name);
        return Field(it->second, op.fields);
      }
      case Operand::Kind::kSub:
        return Field(EvalPipeline(*op.sub), op.fields);
      case Operand::Kind::kFunc:
        return Call(op.name, {});
    }
    return {};
  }

  Val EvalPipeline(const Pipeline& p) {
    Val piped;
    bool has_piped = false;
    for (const auto& cmd : p) {
      if (cmd.front().kind == Operand::Kind::kFunc) {
        std::vector<Val> args;
        for (size_t i = 1; i < cmd.size(); ++i) args.push_back(EvalOperand(cmd[i]));
        if (has_piped) args.push_back(piped);
        piped = Call(cmd.front().name, args);
      } else {
        if (cmd.size() > 1 || has_piped) Fail("can't give argument to non-function");
        piped = EvalOperand(cmd.front());
      }
      has_piped = true;
    }
    return piped;
  }

  static int Compare(const Val& a, const Val& b) {
    if (a.kind == Val::Kind::kNum && b.kind == Val::Kind::kNum) {
      return a.n < b.n ? -1 : (a.n > b.n ? 1 : 0);
    }
    std::string x = Print(a);
    std::string y = Print(b);
    return x < y ? -1 : (x > y ? 1 : 0);
  }

  Val Call(const std::string& fn, const std::vector<Val>& args) {
    auto need = [&](size_t n) {
      if (args.size() != n) {
        Fail("wrong number of args for " + fn + ": want " + std::to_string(n) + " got " +
             std::to_string(args.size()));
      }
    };
    if (fn == "humanize") {
      need(1);
      double v = ToFloat(args[0], fn);
      if (v == 0 || std::isnan(v) || std::isinf(v)) return Str(FormatG4(v));
      std::string prefix;
      if (std::fabs(v) >= 1) {
        for (const char* p : {"k", "M", "G", "T", "P", "E", "Z", "Y"}) {
          if (std::fabs(v) < 1000) break;
          prefix = p;
          v /= 1000;
        }
      } else {
        for (const char* p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
          if (std::fabs(v) >= 1) break;
          prefix = p;
          v *= 1000;
        }
      }
      return Str(FormatG4(v) + prefix);
    }
    if (fn == "humanize1024") {
      need(1);
      double v = ToFloat(args[0], fn);
      if (std::fabs(v) <= 1 || std::isnan(v) || std::isinf(v)) return Str(FormatG4(v));
      std::string prefix;
      for (const char* p : {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"}) {
        if (std::fabs(v) < 1024) break;
        prefix = p;
        v /= 1024;
      }
      return Str(FormatG4(v) + prefix);
    }
    if (fn == "humanizeDuration") {
      need(1);
      double v = ToFloat(args[0], fn);
      if (std::isnan(v) || std::isinf(v)) return Str(FormatG4(v));
      if (v == 0) return Str(FormatG4(v) + "s");
      if (std::fabs(v) >= 1) {
        std::string sign;
        if (v < 0) {
          sign = "-";
          v = -v;
        }
        int64_t d = static_cast<int64_t>(v);
        int64_t seconds = d % 60, minutes = (d / 60) % 60, hours = (d / 3600) % 24,
                days = d / 86400;
        auto i = [](int64_t x) { return std::to_string(x); };
        if (days != 0) {
          return Str(sign + i(days) + "d " + i(hours) + "h " + i(minutes) + "m " + i(seconds) +
                     "s");
        }
        if (hours != 0) return Str(sign + i(hours) + "h " + i(minutes) + "m " + i(seconds) + "s");
        if (minutes != 0) return Str(sign + i(minutes) + "m " + i(seconds) + "s");
        return Str(sign + FormatG4(v) + "s");
      }
      std::string prefix;
      for (const char* p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
        if (std::fabs(v) >= 1) break;
        prefix = p;
        v *= 1000;
      }
      return Str(FormatG4(v) + prefix + "s");
    }
    if (fn == "humanizePercentage") {
      need(1);
      return Str(FormatG4(ToFloat(args[0], fn) * 100) + "%");
    }
    if (fn == "humanizeTimestamp") {
      need(1);
      double v = ToFloat(args[0], fn);
      if (std::isnan(v) || std::isinf(v)) return Str(FormatG4(v));
      int64_t nanos = static_cast<int64_t>(v * 1e9);
      std::time_t secs = static_cast<std::time_t>(nanos / 1'000'000'000);
      int64_t frac = nanos % 1'000'000'000;
      if (frac < 0) {
        frac += 1'000'000'000;
        --secs;
      }
      std::tm tm{};
      gmtime_r(&secs, &tm);
      char buf[64];
      std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
      std::string out = buf;
      if (frac != 0) {
        char f[16];
        std::snprintf(f, sizeof(f), ".%09lld", static_cast<long long>(frac));
        std::string fs = f;
        while (fs.back() == '0') fs.pop_back();
        out += fs;
      }
      return Str(out + " +0000 UTC");
    }
    if (fn == "printf" || fn == "print") {
      if (fn == "print") {
        std::string out;
        for (const Val& a : args) out += Print(a);
        return Str(out);
      }
      if (args.empty() || args[0].kind != Val::Kind::kStr) Fail("printf needs a format string");
      return Str(GoSprintf(args[0].s, args, 1));
    }
    if (fn == "title" || fn == "toUpper" || fn == "toLower") {
      need(1);
      std::string s = Print(args[0]);
      bool start = true;
      for (char& c : s) {
        unsigned char u = static_cast<unsigned char>(c);
        if (fn == "toUpper") {
          c = static_cast<char>(std::toupper(u));
        } else if (fn == "toLower") {
          c = static_cast<char>(std::tolower(u));
        } else {
          if (start && std::isalpha(u)) c = static_cast<char>(std::toupper(u));
          start = !(std::isalnum(u) || c == '_' || c == '\'' || u >= 0x80);
        }
      }
      return Str(s);
    }
    if (fn == "reReplaceAll") {
      need(3);
      RE2 re(Print(args[0]), RE2::Quiet);
      if (!re.ok()) Fail("error calling reReplaceAll: " + re.error());
      std::string text = Print(args[2]);
      return Str(ReplaceAll(re, text, Print(args[1])));
    }
    if (fn == "match") {
      need(2);
      RE2 re(Print(args[0]), RE2::Quiet);
      if (!re.ok()) Fail("error calling match: " + re.error());
      return Bool(RE2::PartialMatch(Print(args[1]), re));
    }
    if (fn == "eq") {
      if (args.size() < 2) Fail("missing argument for comparison");
      for (size_t i = 1; i < args.size(); ++i) {
        if (Compare(args[0], args[i]) == 0) return Bool(true);
      }
      return Bool(false);
    }
    if (fn == "ne" || fn == "lt" || fn == "le" || fn == "gt" || fn == "ge") {
      need(2);
      int c = Compare(args[0], args[1]);
      if (fn == "ne") return Bool(c != 0);
      if (fn == "lt") return Bool(c < 0);
      if (fn == "le") return Bool(c <= 0);
      if (fn == "gt") return Bool(c > 0);
      return Bool(c >= 0);
    }
    if (fn == "and" || fn == "or") {
      if (args.empty()) Fail("wrong number of args for " + fn);
      for (const Val& a : args) {
        if (Truth(a) != (fn == "and")) return a;
      }
      return args.back();
    }
    if (fn == "not") {
      need(1);
      return Bool(!Truth(args[0]));
    }
    if (fn == "len") {
      need(1);
      if (args[0].kind == Val::Kind::kMap) return Num(static_cast<double>(args[0].m.size()));
      return Num(static_cast<double>(Print(args[0]).size()));
    }
    if (fn == "index") {
      need(2);
      if (args[0].kind != Val::Kind::kMap) Fail("can't index item of type " + Print(args[0]));
      auto it = args[0].m.find(Print(args[1]));
      return Str(it == args[0].m.end() ? "" : it->second);
    }
    Fail("function \"" + fn + "\" not defined");
  }

  static std::string ReplaceAll(const RE2& re, const std::string& text, const std::string& repl) {
    std::string out;
    re2::StringPiece input(text);
    const int n = re.NumberOfCapturingGroups() + 1;
    std::vector<re2::StringPiece> groups(n);
    size_t pos = 0;
    while (pos <= text.size() &&
           re.Match(input, pos, text.size(), RE2::UNANCHORED, groups.data(), n)) {
      size_t start = groups[0].data() - text.data();
      size_t end = start + groups[0].size();
      out.append(text, pos, start - pos);
      // Go's Expand: $1, ${1}, $name.
      for (size_t i = 0; i < repl.size(); ++i) {
        if (repl[i] != '$' || i + 1 >= repl.size()) {
          out += repl[i];
          continue;
        }
        if (repl[i + 1] == '$') {
          out += '$';
          ++i;
          continue;
        }
        size_t j = i + 1;
        std::string name;
        if (repl[j] == '{') {
          size_t close = repl.find('}', j);
          if (close == std::string::npos) {
            out += repl[i];
            continue;
          }
          name = repl.substr(j + 1, close - j - 1);
          j = close + 1;
        } else {
          while (j < repl.size() &&
                 (std::isalnum(static_cast<unsigned char>(repl[j])) || repl[j] == '_'))
            ++j;
          name = repl.substr(i + 1, j - i - 1);
        }
        if (name.empty()) {
          out += repl[i];
          continue;
        }
        i = j - 1;
        int idx = -1;
        if (std::all_of(name.begin(), name.end(),
                        [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
          idx = std::atoi(name.c_str());
        } else if (auto it = re.NamedCapturingGroups().find(name);
                   it != re.NamedCapturingGroups().end()) {
          idx = it->second;
        }
        if (idx >= 0 && idx < n && groups[idx].data() != nullptr)
          out.append(groups[idx].data(), groups[idx].size());
      }
      if (end == start) {
        if (start < text.size()) out += text[start];
        pos = start + 1;
      } else {
        pos = end;
      }
    }
    if (pos < text.size()) out.append(text, pos, std::string::npos);
    return out;
  }

  std::string GoSprintf(const std::string& fmt, const std::vector<Val>& args, size_t next) {
    std::string out;
    for (size_t i = 0; i < fmt.size(); ++i) {
      if (fmt[i] != '%') {
        out += fmt[i];
        continue;
      }
      size_t j = i + 1;
      while (j < fmt.size() && std::string_view("+-# 0").find(fmt[j]) != std::string_view::npos)
        ++j;
      while (j < fmt.size() && (std::isdigit(static_cast<unsigned char>(fmt[j])) || fmt[j] == '.'))
        ++j;
      if (j >= fmt.size()) {
        out += "%!(NOVERB)";
        break;
      }
      char verb = fmt[j];
      std::string spec = fmt.substr(i, j - i);
      i = j;
      if (verb == '%') {
        out += '%';
        continue;
      }
      if (next >= args.size()) {
        out += std::string("%!") + verb + "(MISSING)";
        continue;
      }
      const Val& a = args[next++];
      char buf[256];
      switch (verb) {
        case 'd':
          if (a.kind == Val::Kind::kNum && a.n == std::floor(a.n) && std::isfinite(a.n)) {
            std::snprintf(buf, sizeof(buf), (spec + "lld").c_str(), static_cast<long long>(a.n));
            out += buf;
          } else {
            out += "%!d(" + std::string(a.kind == Val::Kind::kNum ? "float64=" : "string=") +
                   Print(a) + ")";
          }
          break;
        case 'f':
        case 'F':
        case 'e':
        case 'E':
        case 'g':
        case 'G': {
          if (a.kind != Val::Kind::kNum) {
            out += std::string("%!") + verb + "(string=" + Print(a) + ")";
            break;
          }
          if (std::isnan(a.n)) {
            out += "NaN";
          } else if (std::isinf(a.n)) {
            out += a.n > 0 ? "+Inf" : "-Inf";
          } else {
            std::snprintf(buf, sizeof(buf), (spec + verb).c_str(), a.n);
            out += buf;
          }
          break;
        }
        case 'q':
          out += "\"" + Print(a) + "\"";
          break;
        case 'x':
          if (a.kind == Val::Kind::kNum) {
            std::snprintf(buf, sizeof(buf), (spec + "llx").c_str(), static_cast<long long>(a.n));
            out += buf;
          } else {
            for (unsigned char c : Print(a)) {
              std::snprintf(buf, sizeof(buf), "%02x", c);
              out += buf;
            }
          }
          break;
        default: {
          std::string s = Print(a);
          std::snprintf(buf, sizeof(buf), (spec + "s").c_str(), s.c_str());
          out += s.size() < 200 ? std::string(buf) : s;
        }
      }
    }
    if (next < args.size()) {
      out += "%!(EXTRA ";
      for (size_t k = next; k < args.size(); ++k) {
        if (k > next) out += ", ";
        out += (args[k].kind == Val::Kind::kNum ? "float64=" : "string=") + Print(args[k]);
      }
      out += ")";
    }
    return out;
  }

  std::string_view name_;
  Val dot_;
  const TemplateData* data_;
  std::map<std::string, Val> vars_;
};

}  // namespace

std::string FormatG4(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return Sprintf("%.4g", v);
}

core::Result<Template> Template::Parse(std::string_view name, std::string_view text) {
  try {
    Parser parser(name, text);
    Template t;
    t.name_ = std::string(name);
    t.root_ = std::make_shared<const Node>(parser.Parse());
    return t;
  } catch (const TemplateFailure& f) {
    return core::Status::InvalidArgument(f.message);
  }
}

core::Result<std::string> Template::Expand(const TemplateData& data) const {
  try {
    Executor exec(data, name_);
    std::string out;
    exec.Run(root_->children, out);
    return out;
  } catch (const TemplateFailure& f) {
    return core::Status::InvalidArgument(f.message);
  }
}

std::string ExpandAlertTemplate(std::string_view name, std::string_view text,
                                const TemplateData& data) {
  if (text.find("{{") == std::string_view::npos) return std::string(text);
  auto t = Template::Parse(name, text);
  if (!t.ok()) return "<error expanding template: " + t.status().message() + ">";
  auto out = t->Expand(data);
  if (!out.ok()) return "<error expanding template: " + out.status().message() + ">";
  return *out;
}

}  // namespace pgdr::rules

// Template text -> tree: Go 1.20's text/template/parse lexer and parser,
// with their error messages, for the functions of alert templates.
#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "pgdr/promql/parser.h"
#include "rules/template_tree.h"

namespace pgdr::rules::tmpl {
namespace {

enum class It {
  kError,
  kBool,
  kChar,
  kCharConstant,
  kComment,
  kComplex,
  kAssign,
  kDeclare,
  kEOF,
  kField,
  kIdentifier,
  kLeftDelim,
  kLeftParen,
  kNumber,
  kPipe,
  kRawString,
  kRightDelim,
  kRightParen,
  kSpace,
  kString,
  kText,
  kVariable,
  kKeyword,  // keywords follow
  kBlock,
  kBreak,
  kContinue,
  kDot,
  kDefine,
  kElse,
  kEnd,
  kIf,
  kNil,
  kRange,
  kTemplate,
  kWith,
};

struct Item {
  It type = It::kEOF;
  int pos = 0;
  std::string val;
  int line = 1;
  // Go's item.String().
  std::string String() const {
    if (type == It::kEOF) return "EOF";
    if (type == It::kError) return val;
    if (type > It::kKeyword) return "<" + val + ">";
    if (val.size() > 10) {
      // %.10q: the first ten runes, quoted.
      return GoQuote(val.substr(0, 10)) + "...";
    }
    return GoQuote(val);
  }
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsAlnum(char c) {
  return c == '_' || std::isalnum(static_cast<unsigned char>(c)) ||
         static_cast<unsigned char>(c) >= 0x80;
}

std::string RuneName(char c) {  // %#U
  char buf[32];
  unsigned char u = static_cast<unsigned char>(c);
  if (std::isprint(u)) {
    std::snprintf(buf, sizeof(buf), "U+%04X '%c'", u, c);
  } else {
    std::snprintf(buf, sizeof(buf), "U+%04X", u);
  }
  return buf;
}

// Go's lexer, run to completion: the parser reads the items in order.
class Lexer {
 public:
  explicit Lexer(const std::string& input) : in_(input) {
    for (size_t i = 0; i < in_.size(); ++i) {
      if (in_[i] == '\n') newlines_.push_back(i);
    }
    enum class State { kText, kLeftDelim, kInside, kRightDelim, kDone } state = State::kText;
    while (state != State::kDone) {
      switch (state) {
        case State::kText:
          state = LexText() ? State::kLeftDelim : State::kDone;
          break;
        case State::kLeftDelim:
          state = LexLeftDelim() ? State::kInside : State::kText;
          if (failed_) state = State::kDone;
          break;
        case State::kInside: {
          int r = LexInsideAction();
          state = r == 0 ? State::kInside : (r == 1 ? State::kRightDelim : State::kDone);
          break;
        }
        case State::kRightDelim:
          LexRightDelim();
          state = State::kText;
          break;
        case State::kDone:
          break;
      }
    }
  }
  std::vector<Item> items;

 private:
  static constexpr std::string_view kLeft = "{{", kRight = "}}";

  int LineAt(size_t p) const {
    return 1 + static_cast<int>(std::lower_bound(newlines_.begin(), newlines_.end(), p) -
                                newlines_.begin());
  }
  void Emit(It t) {
    items.push_back(
        {t, static_cast<int>(start_), in_.substr(start_, pos_ - start_), LineAt(start_)});
    start_ = pos_;
  }
  void Error(const std::string& msg) {
    items.push_back({It::kError, static_cast<int>(start_), msg, LineAt(start_)});
    failed_ = true;
  }
  char Peek() const { return pos_ < in_.size() ? in_[pos_] : '\0'; }
  bool AtEnd() const { return pos_ >= in_.size(); }
  bool Has(std::string_view s, size_t at) const {
    return at <= in_.size() && std::string_view(in_).substr(at).substr(0, s.size()) == s;
  }
  bool LeftTrim(size_t at) const {
    return at + 1 < in_.size() && in_[at] == '-' && IsSpace(in_[at + 1]);
  }
  bool RightTrim(size_t at) const {
    return at + 1 < in_.size() && IsSpace(in_[at]) && in_[at + 1] == '-';
  }
  // (delim, trim)
  std::pair<bool, bool> AtRightDelim() const {
    if (RightTrim(pos_) && Has(kRight, pos_ + 2)) return {true, true};
    if (Has(kRight, pos_)) return {true, false};
    return {false, false};
  }

  // Emits text up to the next "{{"; false at EOF (EOF emitted).
  bool LexText() {
    size_t x = in_.find(kLeft, pos_);
    if (x == std::string::npos) {
      pos_ = in_.size();
      if (pos_ > start_) Emit(It::kText);
      Emit(It::kEOF);
      return false;
    }
    if (x > pos_) {
      pos_ = x;
      size_t trim = 0;
      if (LeftTrim(x + 2)) {
        while (pos_ - trim > start_ && IsSpace(in_[pos_ - trim - 1])) ++trim;
      }
      pos_ -= trim;
      if (pos_ > start_) Emit(It::kText);
      pos_ += trim;
      start_ = pos_;
    }
    return true;
  }

  // true: inside an action; false: a comment was skipped.
  bool LexLeftDelim() {
    pos_ += kLeft.size();
    bool trim = LeftTrim(pos_);
    size_t after = trim ? 2 : 0;
    if (Has("/*", pos_ + after)) {
      pos_ += after;
      start_ = pos_;
      pos_ += 2;
      size_t x = in_.find("*/", pos_);
      if (x == std::string::npos) {
        Error("unclosed comment");
        return false;
      }
      pos_ = x + 2;
      auto [delim, trim_right] = AtRightDelim();
      if (!delim) {
        Error("comment ends before closing delimiter");
        return false;
      }
      if (trim_right) pos_ += 2;
      pos_ += kRight.size();
      if (trim_right) {
        while (pos_ < in_.size() && IsSpace(in_[pos_])) ++pos_;
      }
      start_ = pos_;
      return false;
    }
    Emit(It::kLeftDelim);
    pos_ += after;
    start_ = pos_;
    paren_depth_ = 0;
    return true;
  }

  void LexRightDelim() {
    auto [delim, trim] = AtRightDelim();
    (void)delim;
    if (trim) {
      pos_ += 2;
      start_ = pos_;
    }
    pos_ += kRight.size();
    Emit(It::kRightDelim);
    if (trim) {
      while (pos_ < in_.size() && IsSpace(in_[pos_])) ++pos_;
      start_ = pos_;
    }
  }

  bool AtTerminator() const {
    char r = Peek();
    if (AtEnd() || IsSpace(r)) return true;
    switch (r) {
      case '.':
      case ',':
      case '|':
      case ':':
      case ')':
      case '(':
        return true;
    }
    return Has(kRight, pos_);
  }

  bool Accept(std::string_view valid) {
    if (!AtEnd() && valid.find(in_[pos_]) != std::string_view::npos) {
      ++pos_;
      return true;
    }
    return false;
  }
  void AcceptRun(std::string_view valid) {
    while (Accept(valid)) {
    }
  }
  bool ScanNumber() {
    Accept("+-");
    std::string_view digits = "0123456789_";
    if (Accept("0")) {
      if (Accept("xX")) {
        digits = "0123456789abcdefABCDEF_";
      } else if (Accept("oO")) {
        digits = "01234567_";
      } else if (Accept("bB")) {
        digits = "01_";
      }
    }
    AcceptRun(digits);
    if (Accept(".")) AcceptRun(digits);
    if (digits.size() == 11 && Accept("eE")) {
      Accept("+-");
      AcceptRun("0123456789_");
    }
    if (digits.size() == 23 && Accept("pP")) {
      Accept("+-");
      AcceptRun("0123456789_");
    }
    Accept("i");
    if (!AtEnd() && IsAlnum(Peek())) {
      ++pos_;
      return false;
    }
    return true;
  }

  // 0: continue inside, 1: at the right delimiter, 2: stop.
  int LexInsideAction() {
    auto [delim, trim] = AtRightDelim();
    (void)trim;
    if (delim) {
      if (paren_depth_ == 0) return 1;
      Error("unclosed left paren");
      return 2;
    }
    if (AtEnd()) {
      Error("unclosed action");
      return 2;
    }
    char r = in_[pos_++];
    if (IsSpace(r)) {
      int n = 1;
      while (!AtEnd() && IsSpace(Peek())) {
        ++pos_;
        ++n;
      }
      // A trim-marked right delimiter: " -}}".
      if (pos_ >= 1 && RightTrim(pos_ - 1) && Has(kRight, pos_ + 1)) {
        --pos_;
        if (n == 1) return 0;
      }
      Emit(It::kSpace);
      return 0;
    }
    switch (r) {
      case '=':
        Emit(It::kAssign);
        return 0;
      case ':':
        if (AtEnd() || in_[pos_++] != '=') {
          Error("expected :=");
          return 2;
        }
        Emit(It::kDeclare);
        return 0;
      case '|':
        Emit(It::kPipe);
        return 0;
      case '"':
        for (;;) {
          if (AtEnd()) {
            Error("unterminated quoted string");
            return 2;
          }
          char c = in_[pos_++];
          if (c == '\\') {
            if (AtEnd() || in_[pos_] == '\n') {
              Error("unterminated quoted string");
              return 2;
            }
            ++pos_;
          } else if (c == '\n') {
            Error("unterminated quoted string");
            return 2;
          } else if (c == '"') {
            break;
          }
        }
        Emit(It::kString);
        return 0;
      case '`': {
        size_t x = in_.find('`', pos_);
        if (x == std::string::npos) {
          Error("unterminated raw quoted string");
          return 2;
        }
        pos_ = x + 1;
        Emit(It::kRawString);
        return 0;
      }
      case '$':
        return LexFieldOrVariable(It::kVariable);
      case '\'':
        for (;;) {
          if (AtEnd()) {
            Error("unterminated character constant");
            return 2;
          }
          char c = in_[pos_++];
          if (c == '\\') {
            if (AtEnd() || in_[pos_] == '\n') {
              Error("unterminated character constant");
              return 2;
            }
            ++pos_;
          } else if (c == '\n') {
            Error("unterminated character constant");
            return 2;
          } else if (c == '\'') {
            break;
          }
        }
        Emit(It::kCharConstant);
        return 0;
      case '(':
        Emit(It::kLeftParen);
        ++paren_depth_;
        return 0;
      case ')':
        Emit(It::kRightParen);
        if (--paren_depth_ < 0) {
          Error("unexpected right paren " + RuneName(r));
          return 2;
        }
        return 0;
    }
    if (r == '.' && !AtEnd() && !std::isdigit(static_cast<unsigned char>(Peek()))) {
      return LexFieldOrVariable(It::kField);
    }
    if (r == '.' && AtEnd()) return LexFieldOrVariable(It::kField);
    if (r == '.' || r == '+' || r == '-' || std::isdigit(static_cast<unsigned char>(r))) {
      --pos_;
      if (!ScanNumber()) {
        Error("bad number syntax: " + GoQuote(in_.substr(start_, pos_ - start_)));
        return 2;
      }
      if (Peek() == '+' || Peek() == '-') {
        if (!ScanNumber() || in_[pos_ - 1] != 'i') {
          Error("bad number syntax: " + GoQuote(in_.substr(start_, pos_ - start_)));
          return 2;
        }
        Emit(It::kComplex);
      } else {
        Emit(It::kNumber);
      }
      return 0;
    }
    if (IsAlnum(r)) {
      while (!AtEnd() && IsAlnum(Peek())) ++pos_;
      std::string word = in_.substr(start_, pos_ - start_);
      if (!AtTerminator()) {
        Error("bad character " + RuneName(Peek()));
        return 2;
      }
      static const std::map<std::string, It> kKeys = {{"block", It::kBlock},
                                                      {"break", It::kBreak},
                                                      {"continue", It::kContinue},
                                                      {"define", It::kDefine},
                                                      {"else", It::kElse},
                                                      {"end", It::kEnd},
                                                      {"if", It::kIf},
                                                      {"range", It::kRange},
                                                      {"nil", It::kNil},
                                                      {"template", It::kTemplate},
                                                      {"with", It::kWith}};
      if (auto it = kKeys.find(word); it != kKeys.end()) {
        Emit(it->second);
      } else if (word == "true" || word == "false") {
        Emit(It::kBool);
      } else {
        Emit(It::kIdentifier);
      }
      return 0;
    }
    if (static_cast<unsigned char>(r) < 0x80 && std::isprint(static_cast<unsigned char>(r))) {
      Emit(It::kChar);
      return 0;
    }
    Error("unrecognized character in action: " + RuneName(r));
    return 2;
  }

  int LexFieldOrVariable(It type) {
    if (AtTerminator()) {
      Emit(type == It::kVariable ? It::kVariable : It::kDot);
      return 0;
    }
    while (!AtEnd() && IsAlnum(Peek())) ++pos_;
    if (!AtTerminator()) {
      Error("bad character " + RuneName(Peek()));
      return 2;
    }
    Emit(type);
    return 0;
  }

  const std::string& in_;
  std::vector<size_t> newlines_;  // offsets of '\n', for items' lines
  size_t pos_ = 0;
  size_t start_ = 0;
  int paren_depth_ = 0;
  bool failed_ = false;
};

// Go's parse.Tree for one template (the main one, a define or a block).
class Parser {
 public:
  Parser(Tree& set, const std::string& parse_name, const std::vector<Item>& items, size_t& next)
      : set_(set), parse_name_(parse_name), items_(items), next_(next) {}

  void ParseMain(const std::string& name) {
    Node root;
    root.kind = Node::Kind::kList;
    root.pos = Peek().pos;
    while (Peek().type != It::kEOF) {
      if (Peek().type == It::kLeftDelim) {
        Item delim = Next();
        if (NextNonSpace().type == It::kDefine) {
          Parser def(set_, parse_name_, items_, next_);
          def.depth_ = depth_;
          def.ParseDefinition();
          continue;
        }
        Backup2(delim);
      }
      Node n = TextOrAction();
      if (n.kind == Node::Kind::kList && n.text == "end") Errorf("unexpected {{end}}");
      if (n.kind == Node::Kind::kList && n.text == "else") Errorf("unexpected {{else}}");
      root.list.push_back(std::move(n));
    }
    Add(name, std::move(root));
  }

 private:
  // Nesting is bounded (Go's stack grows; ours does not).
  static constexpr int kMaxDepth = 200;

  [[noreturn]] void Errorf(const std::string& msg) const {
    throw TemplateFailure{"template: " + parse_name_ + ":" + std::to_string(token_[0].line) + ": " +
                          msg};
  }

  const Item& Lex() {
    static const Item kEof;
    if (next_ < items_.size()) return items_[next_++];
    return items_.empty() ? kEof : items_.back();
  }
  Item Next() {
    if (peek_count_ > 0) {
      --peek_count_;
    } else {
      token_[0] = Lex();
    }
    return token_[peek_count_];
  }
  void Backup() { ++peek_count_; }
  void Backup2(const Item& t1) {
    token_[1] = t1;
    peek_count_ = 2;
  }
  void Backup3(const Item& t2, const Item& t1) {
    token_[1] = t1;
    token_[2] = t2;
    peek_count_ = 3;
  }
  Item Peek() {
    if (peek_count_ > 0) return token_[peek_count_ - 1];
    peek_count_ = 1;
    token_[0] = Lex();
    return token_[0];
  }
  Item NextNonSpace() {
    Item t;
    do {
      t = Next();
    } while (t.type == It::kSpace);
    return t;
  }
  Item PeekNonSpace() {
    Item t = NextNonSpace();
    Backup();
    return t;
  }
  [[noreturn]] void Unexpected(const Item& t, const std::string& context) {
    if (t.type == It::kError) {
      std::string extra;
      if (action_line_ != 0 && action_line_ != t.line) {
        extra = " in action started at " + parse_name_ + ":" + std::to_string(action_line_);
        if (t.val.size() >= 7 && t.val.substr(t.val.size() - 7) == " action") {
          extra = extra.substr(10);
        }
      }
      Errorf(t.String() + extra);
    }
    Errorf("unexpected " + t.String() + " in " + context);
  }
  Item Expect(It type, const std::string& context) {
    Item t = NextNonSpace();
    if (t.type != type) Unexpected(t, context);
    return t;
  }

  void Add(const std::string& name, Node root) {
    auto it = set_.templates.find(name);
    if (it == set_.templates.end() || IsEmpty(it->second)) {
      set_.templates[name] = std::move(root);
      return;
    }
    if (!IsEmpty(root)) Errorf("template: multiple definition of template " + GoQuote(name));
  }
  static bool IsEmpty(const Node& n) {
    switch (n.kind) {
      case Node::Kind::kList:
        for (const Node& c : n.list) {
          if (!IsEmpty(c)) return false;
        }
        return true;
      case Node::Kind::kText:
        return n.text.find_first_not_of(" \t\r\n") == std::string::npos;
      default:
        return false;
    }
  }

  void ParseDefinition() {
    Item name = NextNonSpace();
    if (name.type != It::kString && name.type != It::kRawString) Unexpected(name, "define clause");
    auto unquoted = promql::Unquote(name.val);
    if (!unquoted.ok()) Errorf("invalid syntax");
    Expect(It::kRightDelim, "define clause");
    Node root;
    root.kind = Node::Kind::kList;
    std::string end = ItemList(root.list, root.pos);
    if (end != "end") Errorf("unexpected " + EndString(end) + " in define clause");
    Add(*unquoted, std::move(root));
  }

  static std::string EndString(const std::string& e) { return "{{" + e + "}}"; }

  // Parses until {{end}} or {{else}}; returns "end" or "else".
  std::string ItemList(std::vector<Node>& list, int& pos) {
    pos = PeekNonSpace().pos;
    while (PeekNonSpace().type != It::kEOF) {
      Node n = TextOrAction();
      if (n.kind == Node::Kind::kList && (n.text == "end" || n.text == "else")) return n.text;
      list.push_back(std::move(n));
    }
    Errorf("unexpected EOF");
  }

  // {{end}} and {{else}} come back as kList nodes with text "end"/"else".
  Node TextOrAction() {
    Item t = NextNonSpace();
    switch (t.type) {
      case It::kText: {
        Node n;
        n.kind = Node::Kind::kText;
        n.pos = t.pos;
        n.text = t.val;
        return n;
      }
      case It::kLeftDelim: {
        int saved = action_line_;
        action_line_ = t.line;
        Node n = Action();
        action_line_ = saved;
        return n;
      }
      default:
        Unexpected(t, "input");
    }
  }

  Node Action() {
    Item t = NextNonSpace();
    switch (t.type) {
      case It::kBlock:
        return BlockControl();
      case It::kBreak:
      case It::kContinue: {
        bool is_break = t.type == It::kBreak;
        Item close = NextNonSpace();
        if (close.type != It::kRightDelim) {
          Unexpected(close, is_break ? "{{break}}" : "{{continue}}");
        }
        if (range_depth_ == 0) {
          Errorf(is_break ? "{{break}} outside {{range}}" : "{{continue}} outside {{range}}");
        }
        Node n;
        n.kind = is_break ? Node::Kind::kBreak : Node::Kind::kContinue;
        n.pos = t.pos;
        return n;
      }
      case It::kElse: {
        Node n;
        n.kind = Node::Kind::kList;
        n.text = "else";
        if (PeekNonSpace().type == It::kIf) return n;  // "else if": the if stays pending
        Expect(It::kRightDelim, "else");
        return n;
      }
      case It::kEnd: {
        Expect(It::kRightDelim, "end");
        Node n;
        n.kind = Node::Kind::kList;
        n.text = "end";
        return n;
      }
      case It::kIf:
        return Control(Node::Kind::kIf, "if");
      case It::kRange:
        return Control(Node::Kind::kRange, "range");
      case It::kTemplate:
        return TemplateControl();
      case It::kWith:
        return Control(Node::Kind::kWith, "with");
      default:
        break;
    }
    Backup();
    Item at = Peek();
    Node n;
    n.kind = Node::Kind::kAction;
    n.pos = at.pos;
    n.pipe = Pipeline("command", It::kRightDelim);
    return n;
  }

  Node Control(Node::Kind kind, const std::string& context) {
    if (++depth_ > kMaxDepth) Errorf("template nesting deeper than " + std::to_string(kMaxDepth));
    size_t vars = vars_.size();
    Node n;
    n.kind = kind;
    n.pipe = Pipeline(context, It::kRightDelim);
    n.pos = n.pipe->pos;
    if (kind == Node::Kind::kRange) ++range_depth_;
    int list_pos = 0;
    std::string next = ItemList(n.list, list_pos);
    if (kind == Node::Kind::kRange) --range_depth_;
    if (next == "else") {
      n.has_else = true;
      if (kind == Node::Kind::kIf && Peek().type == It::kIf) {
        Next();
        n.else_list.push_back(Control(Node::Kind::kIf, "if"));
      } else {
        std::string end = ItemList(n.else_list, list_pos);
        if (end != "end") Errorf("expected end; found " + EndString(end));
      }
    }
    vars_.resize(vars);
    --depth_;
    return n;
  }

  std::string TemplateName(const Item& t, const std::string& context) {
    if (t.type != It::kString && t.type != It::kRawString) Unexpected(t, context);
    auto s = promql::Unquote(t.val);
    if (!s.ok()) Errorf("invalid syntax");
    return *s;
  }

  Node TemplateControl() {
    Item t = NextNonSpace();
    Node n;
    n.kind = Node::Kind::kTemplate;
    n.pos = t.pos;
    n.text = TemplateName(t, "template clause");
    if (NextNonSpace().type != It::kRightDelim) {
      Backup();
      n.pipe = Pipeline("template clause", It::kRightDelim);
    }
    return n;
  }

  Node BlockControl() {
    Item t = NextNonSpace();
    Node n;
    n.kind = Node::Kind::kTemplate;
    n.pos = t.pos;
    n.text = TemplateName(t, "block clause");
    n.pipe = Pipeline("block clause", It::kRightDelim);
    Parser block(set_, parse_name_, items_, next_);
    block.depth_ = depth_ + 1;
    if (block.depth_ > kMaxDepth)
      Errorf("template nesting deeper than " + std::to_string(kMaxDepth));
    Node root;
    root.kind = Node::Kind::kList;
    std::string end = block.ItemList(root.list, root.pos);
    if (end != "end") Errorf("unexpected " + EndString(end) + " in block clause");
    block.Add(n.text, std::move(root));
    return n;
  }

  std::shared_ptr<Pipe> Pipeline(const std::string& context, It end) {
    auto pipe = std::make_shared<Pipe>();
    pipe->pos = PeekNonSpace().pos;
    for (;;) {
      Item v = PeekNonSpace();
      if (v.type != It::kVariable) break;
      Next();
      Item after = Peek();
      Item next = PeekNonSpace();
      if (next.type == It::kAssign || next.type == It::kDeclare) {
        pipe->is_assign = next.type == It::kAssign;
        NextNonSpace();
        pipe->decl.push_back(v.val);
        vars_.push_back(v.val);
        break;
      }
      if (next.type == It::kChar && next.val == ",") {
        NextNonSpace();
        pipe->decl.push_back(v.val);
        vars_.push_back(v.val);
        if (context == "range" && pipe->decl.size() < 2) {
          It p = PeekNonSpace().type;
          if (p == It::kVariable || p == It::kRightDelim || p == It::kRightParen) continue;
          Errorf("range can only initialize variables");
        }
        Errorf("too many declarations in " + context);
      }
      if (after.type == It::kSpace) {
        Backup3(v, after);
      } else {
        Backup2(v);
      }
      break;
    }
    for (;;) {
      Item t = NextNonSpace();
      if (t.type == end) {
        if (pipe->cmds.empty()) Errorf("missing value for " + context);
        for (size_t i = 1; i < pipe->cmds.size(); ++i) {
          switch (pipe->cmds[i].args[0].kind) {
            case Arg::Kind::kBool:
            case Arg::Kind::kDot:
            case Arg::Kind::kNil:
            case Arg::Kind::kNumber:
            case Arg::Kind::kString:
              Errorf("non executable command in pipeline stage " + std::to_string(i + 1));
            default:
              break;
          }
        }
        return pipe;
      }
      switch (t.type) {
        case It::kBool:
        case It::kCharConstant:
        case It::kComplex:
        case It::kDot:
        case It::kField:
        case It::kIdentifier:
        case It::kNumber:
        case It::kNil:
        case It::kRawString:
        case It::kString:
        case It::kVariable:
        case It::kLeftParen:
          Backup();
          pipe->cmds.push_back(ParseCommand());
          break;
        default:
          Unexpected(t, context);
      }
    }
  }

  Command ParseCommand() {
    Command cmd;
    cmd.pos = PeekNonSpace().pos;
    for (;;) {
      PeekNonSpace();
      if (auto op = Operand()) cmd.args.push_back(std::move(*op));
      Item t = Next();
      if (t.type == It::kSpace) continue;
      if (t.type == It::kRightDelim || t.type == It::kRightParen) {
        Backup();
      } else if (t.type != It::kPipe) {
        Unexpected(t, "operand");
      }
      break;
    }
    if (cmd.args.empty()) Errorf("empty command");
    return cmd;
  }

  std::optional<Arg> Operand() {
    std::optional<Arg> node = Term();
    if (!node) return node;
    if (Peek().type == It::kField) {
      std::vector<std::string> fields;
      int pos = Peek().pos;
      while (Peek().type == It::kField) fields.push_back(Next().val.substr(1));
      switch (node->kind) {
        case Arg::Kind::kField:
        case Arg::Kind::kVar:
          node->fields.insert(node->fields.end(), fields.begin(), fields.end());
          node->pos = pos;  // Go's newField(chain.Position(), ...)
          break;
        case Arg::Kind::kBool:
        case Arg::Kind::kString:
        case Arg::Kind::kNumber:
        case Arg::Kind::kNil:
        case Arg::Kind::kDot:
          Errorf("unexpected . after term " + GoQuote(node->String()));
        default: {
          Arg chain;
          chain.kind = Arg::Kind::kChain;
          chain.pos = pos;
          chain.fields = std::move(fields);
          chain.pipe = std::make_shared<Pipe>();
          Command inner;
          inner.pos = node->pos;
          inner.args.push_back(std::move(*node));
          chain.pipe->cmds.push_back(std::move(inner));
          chain.pipe->pos = -1;  // marks "the chained operand itself"
          node = std::move(chain);
        }
      }
    }
    return node;
  }

  std::optional<Arg> Term() {
    Item t = NextNonSpace();
    Arg a;
    a.pos = t.pos;
    switch (t.type) {
      case It::kIdentifier:
        if (FindFunction(t.val) == nullptr) Errorf("function " + GoQuote(t.val) + " not defined");
        a.kind = Arg::Kind::kIdent;
        a.name = t.val;
        return a;
      case It::kDot:
        a.kind = Arg::Kind::kDot;
        return a;
      case It::kNil:
        a.kind = Arg::Kind::kNil;
        return a;
      case It::kVariable: {
        a.kind = Arg::Kind::kVar;
        size_t dot = t.val.find('.');
        a.name = t.val.substr(0, dot);
        bool known = false;
        for (const auto& v : vars_) known = known || v == a.name;
        if (!known) Errorf("undefined variable " + GoQuote(a.name));
        return a;
      }
      case It::kField:
        a.kind = Arg::Kind::kField;
        a.fields.push_back(t.val.substr(1));
        return a;
      case It::kBool:
        a.kind = Arg::Kind::kBool;
        a.truth = t.val == "true";
        return a;
      case It::kCharConstant:
      case It::kComplex:
      case It::kNumber:
        return Number(t);
      case It::kLeftParen: {
        if (++depth_ > kMaxDepth) {
          Errorf("template nesting deeper than " + std::to_string(kMaxDepth));
        }
        a.kind = Arg::Kind::kPipe;
        a.pipe = Pipeline("parenthesized pipeline", It::kRightParen);
        --depth_;
        return a;
      }
      case It::kString:
      case It::kRawString: {
        auto s = promql::Unquote(t.val);
        if (!s.ok()) Errorf("invalid syntax");
        a.kind = Arg::Kind::kString;
        a.name = *s;
        a.quoted = t.val;
        return a;
      }
      default:
        Backup();
        return std::nullopt;
    }
  }

  Arg Number(const Item& t) {
    Arg a;
    a.kind = Arg::Kind::kNumber;
    a.pos = t.pos;
    a.name = t.val;
    if (t.type == It::kComplex) Errorf("complex constants are not supported: " + GoQuote(t.val));
    if (t.type == It::kCharConstant) {
      auto s = promql::Unquote(t.val);
      if (!s.ok() || s->empty()) Errorf("invalid syntax");  // strconv.UnquoteChar's error
      size_t runes = 0;
      for (char c : *s) runes += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
      if (runes != 1) Errorf("malformed character constant: " + t.val);
      // The rune's code point (UTF-8 decoded).
      const auto* p = reinterpret_cast<const unsigned char*>(s->data());
      int64_t r = p[0];
      if (r >= 0xf0 && s->size() >= 4) {
        r = ((r & 7) << 18) | ((p[1] & 63) << 12) | ((p[2] & 63) << 6) | (p[3] & 63);
      } else if (r >= 0xe0 && s->size() >= 3) {
        r = ((r & 15) << 12) | ((p[1] & 63) << 6) | (p[2] & 63);
      } else if (r >= 0xc0 && s->size() >= 2) {
        r = ((r & 31) << 6) | (p[1] & 63);
      }
      a.is_int = a.is_float = true;
      a.int_value = r;
      a.float_value = static_cast<double>(r);
      return a;
    }
    std::string text;
    for (char c : t.val) {
      if (c != '_') text += c;
    }
    bool hexish = text.find_first_of("xX") != std::string::npos;
    errno = 0;
    char* end = nullptr;
    bool octal_prefix = text.size() > 2 && text[0] == '0' && (text[1] == 'o' || text[1] == 'O');
    bool bin_prefix = text.size() > 2 && text[0] == '0' && (text[1] == 'b' || text[1] == 'B');
    std::string digits = text;
    int base = 0;
    if (octal_prefix || bin_prefix) {
      digits = text.substr(2);
      base = octal_prefix ? 8 : 2;
    }
    long long iv = std::strtoll(digits.c_str(), &end, base);
    if (errno == 0 && end == digits.c_str() + digits.size() && !digits.empty()) {
      a.is_int = a.is_float = true;
      a.int_value = iv;
      a.float_value = static_cast<double>(iv);
      return a;
    }
    errno = 0;
    unsigned long long uv = std::strtoull(digits.c_str(), &end, base);
    if (errno == 0 && end == digits.c_str() + digits.size() && !digits.empty() &&
        digits[0] != '-') {
      a.is_uint = a.is_float = true;  // too big for int: an error when used
      a.float_value = static_cast<double>(uv);
      return a;
    }
    if (text.find_first_of(".eEpP") == std::string::npos ||
        (hexish && text.find_first_of("pP") == std::string::npos)) {
      errno = 0;
      std::strtod(text.c_str(), &end);
      if (end == text.c_str() + text.size()) Errorf("integer overflow: " + GoQuote(t.val));
      Errorf("illegal number syntax: " + GoQuote(t.val));
    }
    errno = 0;
    double f = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || text.empty()) {
      Errorf("illegal number syntax: " + GoQuote(t.val));
    }
    a.is_float = true;
    a.float_value = f;
    if (std::abs(f) < 9.2e18 && f == static_cast<double>(GoInt64(f))) {
      a.is_int = true;
      a.int_value = GoInt64(f);
    }
    return a;
  }

  Tree& set_;
  const std::string& parse_name_;
  const std::vector<Item>& items_;
  size_t& next_;
  Item token_[3];
  int peek_count_ = 0;
  int action_line_ = 0;
  int range_depth_ = 0;
  int depth_ = 0;
  std::vector<std::string> vars_ = {"$"};
};

void JoinFields(std::string& out, const std::vector<std::string>& fields) {
  for (const auto& f : fields) out += "." + f;
}

}  // namespace

std::string Arg::String() const {
  std::string out;
  switch (kind) {
    case Kind::kIdent:
      return name;
    case Kind::kDot:
      return ".";
    case Kind::kNil:
      return "nil";
    case Kind::kVar:
      out = name;
      JoinFields(out, fields);
      return out;
    case Kind::kField:
      JoinFields(out, fields);
      return out;
    case Kind::kBool:
      return truth ? "true" : "false";
    case Kind::kNumber:
      return name;
    case Kind::kString:
      return quoted;
    case Kind::kPipe:
      return pipe->String();
    case Kind::kChain: {
      const Arg& inner = pipe->cmds[0].args[0];
      out = inner.kind == Kind::kPipe ? "(" + inner.String() + ")" : inner.String();
      JoinFields(out, fields);
      return out;
    }
  }
  return out;
}

std::string Command::String() const {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0) out += " ";
    out += args[i].kind == Arg::Kind::kPipe ? "(" + args[i].String() + ")" : args[i].String();
  }
  return out;
}

std::string Pipe::String() const {
  std::string out;
  for (size_t i = 0; i < decl.size(); ++i) out += (i > 0 ? ", " : "") + decl[i];
  if (!decl.empty()) out += " := ";
  for (size_t i = 0; i < cmds.size(); ++i) out += (i > 0 ? " | " : "") + cmds[i].String();
  return out;
}

std::string Node::String() const {
  std::string out;
  auto list_string = [](const std::vector<Node>& l) {
    std::string s;
    for (const Node& n : l) s += n.String();
    return s;
  };
  switch (kind) {
    case Kind::kList:
      return list_string(list);
    case Kind::kText:
      return text;
    case Kind::kAction:
      return "{{" + pipe->String() + "}}";
    case Kind::kIf:
    case Kind::kWith:
    case Kind::kRange: {
      const char* word = kind == Kind::kIf ? "if" : (kind == Kind::kWith ? "with" : "range");
      out = std::string("{{") + word + " " + pipe->String() + "}}" + list_string(list);
      if (has_else) out += "{{else}}" + list_string(else_list);
      return out + "{{end}}";
    }
    case Kind::kTemplate:
      if (!pipe) return "{{template " + GoQuote(text) + "}}";
      return "{{template " + GoQuote(text) + " " + pipe->String() + "}}";
    case Kind::kBreak:
      return "{{break}}";
    case Kind::kContinue:
      return "{{continue}}";
  }
  return out;
}

Tree ParseTree(const std::string& name, const std::string& text) {
  Tree tree;
  tree.name = name;
  tree.text = text;
  Lexer lexer(tree.text);
  size_t next = 0;
  Parser parser(tree, name, lexer.items, next);
  parser.ParseMain(name);
  return tree;
}

}  // namespace pgdr::rules::tmpl

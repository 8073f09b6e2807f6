// The functions of alert templates: Go 1.20's text/template builtins and
// Prometheus 2.42's template functions, with their error messages.
#include <arpa/inet.h>
#include <re2/re2.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "pgdr/config/yaml_reader.h"
#include "rules/template_tree.h"

namespace pgdr::rules::tmpl {
namespace {

using Args = std::vector<Value>;
constexpr const char* kNilDeref =
    "runtime error: invalid memory address or nil pointer dereference";

[[noreturn]] void Fail(std::string msg) { throw CallError{std::move(msg)}; }

// ---- Comparison (funcs.go) ----
enum class Basic { kInvalid, kBool, kInt, kFloat, kString, kUint };
Basic BasicKind(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kBool:
      return Basic::kBool;
    case Value::Kind::kInt:
      return Basic::kInt;
    case Value::Kind::kUint8:
      return Basic::kUint;
    case Value::Kind::kFloat:
      return Basic::kFloat;
    case Value::Kind::kString:
    case Value::Kind::kHTML:
      return Basic::kString;
    default:
      return Basic::kInvalid;
  }
}
constexpr const char* kBadComparisonType = "invalid type for comparison";
constexpr const char* kBadComparison = "incompatible types for comparison";

bool IsNilValue(const Value& v) {
  return v.kind == Value::Kind::kInvalid || (v.kind == Value::Kind::kSample && !v.sample) ||
         (v.kind == Value::Kind::kResult && !v.result);
}

bool Eq1(const Value& a, const Value& b) {
  Basic k1 = BasicKind(a), k2 = BasicKind(b);
  if (k1 != k2) {
    if ((k1 == Basic::kInt && k2 == Basic::kUint) || (k1 == Basic::kUint && k2 == Basic::kInt)) {
      return a.i == b.i;
    }
    if (a.kind != Value::Kind::kInvalid && b.kind != Value::Kind::kInvalid) Fail(kBadComparison);
    return false;
  }
  switch (k1) {
    case Basic::kBool:
      return a.b == b.b;
    case Basic::kInt:
    case Basic::kUint:
      return a.i == b.i;
    case Basic::kFloat:
      return a.f == b.f;
    case Basic::kString:
      return a.s == b.s;
    case Basic::kInvalid:
      break;
  }
  if (a.kind != b.kind && a.kind != Value::Kind::kInvalid && b.kind != Value::Kind::kInvalid) {
    Fail("non-comparable types " + Sprint(a) + ": " + TypeName(a) + ", " + TypeName(b) + ": " +
         Sprint(b));
  }
  if (IsNilValue(a) || IsNilValue(b)) return IsNilValue(a) == IsNilValue(b);
  if (b.kind == Value::Kind::kStrMap || b.kind == Value::Kind::kAnyMap ||
      b.kind == Value::Kind::kResult) {
    Fail("non-comparable type " + Sprint(b) + ": " + TypeName(b));
  }
  if (a.kind == Value::Kind::kSample) return a.sample == b.sample;
  if (a.kind == Value::Kind::kData) return a.data == b.data;
  return a.i == b.i;  // *time.Time: the same pointer only when the same call made it
}

Value Eq(const Args& args, const TemplateData&) {
  if (args.size() < 2) Fail("missing argument for comparison");
  for (size_t i = 1; i < args.size(); ++i) {
    if (Eq1(args[0], args[i])) return Bool(true);
  }
  return Bool(false);
}

bool Lt(const Value& a, const Value& b) {
  Basic k1 = BasicKind(a);
  if (k1 == Basic::kInvalid) Fail(kBadComparisonType);
  Basic k2 = BasicKind(b);
  if (k2 == Basic::kInvalid) Fail(kBadComparisonType);
  if (k1 != k2) {
    if (k1 == Basic::kInt && k2 == Basic::kUint) return a.i < 0 || a.i < b.i;
    if (k1 == Basic::kUint && k2 == Basic::kInt) return b.i >= 0 && a.i < b.i;
    Fail(kBadComparison);
  }
  switch (k1) {
    case Basic::kBool:
      Fail(kBadComparisonType);
    case Basic::kFloat:
      return a.f < b.f;
    case Basic::kInt:
    case Basic::kUint:
      return a.i < b.i;
    case Basic::kString:
      return a.s < b.s;
    case Basic::kInvalid:
      break;
  }
  Fail(kBadComparisonType);
}
bool Le(const Value& a, const Value& b) { return Lt(a, b) || Eq1(a, b); }

Value NeF(const Args& a, const TemplateData&) { return Bool(!Eq1(a[0], a[1])); }
Value LtF(const Args& a, const TemplateData&) { return Bool(Lt(a[0], a[1])); }
Value LeF(const Args& a, const TemplateData&) { return Bool(Le(a[0], a[1])); }
Value GtF(const Args& a, const TemplateData&) { return Bool(!Le(a[0], a[1])); }
Value GeF(const Args& a, const TemplateData&) { return Bool(!Lt(a[0], a[1])); }
Value NotF(const Args& a, const TemplateData&) { return Bool(!Truth(a[0])); }
Value Unreachable(const Args&, const TemplateData&) { Fail("unreachable"); }

// ---- len, index, slice ----
Value Len(const Args& a, const TemplateData&) {
  const Value& v = a[0];
  switch (v.kind) {
    case Value::Kind::kInvalid:
      Fail("reflect: call of reflect.Value.Type on zero Value");
    case Value::Kind::kString:
    case Value::Kind::kHTML:
      return Int(static_cast<int64_t>(v.s.size()));
    case Value::Kind::kStrMap:
      return Int(static_cast<int64_t>(v.smap->size()));
    case Value::Kind::kAnyMap:
      return Int(static_cast<int64_t>(v.amap->size()));
    case Value::Kind::kResult:
      return Int(v.result ? static_cast<int64_t>(v.result->size()) : 0);
    case Value::Kind::kSample:
      if (!v.sample) Fail("len of nil pointer");
      Fail("len of type template.sample");
    case Value::Kind::kTime:
      Fail("len of type time.Time");
    default:
      Fail("len of type " + TypeName(v));
  }
}

int64_t IndexArg(const Value& index, size_t cap) {
  int64_t x = 0;
  if (index.kind == Value::Kind::kInt || index.kind == Value::Kind::kUint8) {
    x = index.i;
  } else if (index.kind == Value::Kind::kInvalid) {
    Fail("cannot index slice/array with nil");
  } else {
    Fail("cannot index slice/array with type " + TypeName(index));
  }
  if (x < 0 || x > static_cast<int64_t>(cap)) Fail("index out of range: " + std::to_string(x));
  return x;
}

Value SampleAt(const Value& r, size_t i) {
  Value s;
  s.kind = Value::Kind::kSample;
  s.sample = (*r.result)[i];
  return s;
}

Value Index(const Args& a, const TemplateData&) {
  Value item = a[0];
  if (item.kind == Value::Kind::kInvalid) Fail("index of untyped nil");
  for (size_t k = 1; k < a.size(); ++k) {
    const Value& index = a[k];
    switch (item.kind) {
      case Value::Kind::kString:
      case Value::Kind::kHTML:
      case Value::Kind::kResult: {
        size_t len = item.kind == Value::Kind::kResult ? (item.result ? item.result->size() : 0)
                                                       : item.s.size();
        int64_t x = IndexArg(index, len);
        if (static_cast<size_t>(x) >= len) {
          Fail(item.kind == Value::Kind::kResult ? "reflect: slice index out of range"
                                                 : "reflect: string index out of range");
        }
        if (item.kind == Value::Kind::kResult) {
          item = SampleAt(item, static_cast<size_t>(x));
        } else {
          Value b;
          b.kind = Value::Kind::kUint8;
          b.i = static_cast<unsigned char>(item.s[static_cast<size_t>(x)]);
          item = b;
        }
        break;
      }
      case Value::Kind::kStrMap:
      case Value::Kind::kAnyMap: {
        if (index.kind == Value::Kind::kInvalid) Fail("value is nil; should be of type string");
        if (index.kind != Value::Kind::kString) {
          Fail("value has type " + TypeName(index) + "; should be string");
        }
        if (item.kind == Value::Kind::kStrMap) {
          auto it = item.smap->find(index.s);
          item = String(it == item.smap->end() ? "" : it->second);
        } else {
          auto it = item.amap->find(index.s);
          item = it == item.amap->end() ? Value{} : it->second;
        }
        break;
      }
      case Value::Kind::kSample:
        if (!item.sample) Fail("index of nil pointer");
        Fail("can't index item of type template.sample");
      case Value::Kind::kInvalid:
        Fail("index of untyped nil");
      default:
        Fail("can't index item of type " + TypeName(item));
    }
  }
  return item;
}

Value Slice(const Args& a, const TemplateData&) {
  const Value& item = a[0];
  if (item.kind == Value::Kind::kInvalid) Fail("slice of untyped nil");
  if (a.size() - 1 > 3) Fail("too many slice indexes: " + std::to_string(a.size() - 1));
  size_t len = 0;
  if (item.kind == Value::Kind::kString || item.kind == Value::Kind::kHTML) {
    if (a.size() - 1 == 3) Fail("cannot 3-index slice a string");
    len = item.s.size();
  } else if (item.kind == Value::Kind::kResult) {
    len = item.result ? item.result->size() : 0;
  } else {
    Fail("can't slice item of type " + TypeName(item));
  }
  int64_t idx[3] = {0, static_cast<int64_t>(len), 0};
  for (size_t k = 1; k < a.size(); ++k) idx[k - 1] = IndexArg(a[k], len);
  if (idx[0] > idx[1]) {
    Fail("invalid slice index: " + std::to_string(idx[0]) + " > " + std::to_string(idx[1]));
  }
  if (a.size() - 1 == 3 && idx[1] > idx[2]) {
    Fail("invalid slice index: " + std::to_string(idx[1]) + " > " + std::to_string(idx[2]));
  }
  Value out = item;
  if (item.kind == Value::Kind::kResult) {
    auto r = std::make_shared<std::vector<std::shared_ptr<const TemplateSample>>>();
    for (int64_t i = idx[0]; i < idx[1]; ++i) r->push_back((*item.result)[static_cast<size_t>(i)]);
    out.result = std::move(r);
  } else {
    out.s = item.s.substr(static_cast<size_t>(idx[0]), static_cast<size_t>(idx[1] - idx[0]));
  }
  return out;
}

// ---- print family and escapers ----
bool IsStringKind(const Value& v) {
  return v.kind == Value::Kind::kString || v.kind == Value::Kind::kHTML;
}
std::string GoSprint(const Args& a) {
  std::string out;
  for (size_t i = 0; i < a.size(); ++i) {
    if (i > 0 && !IsStringKind(a[i]) && !IsStringKind(a[i - 1])) out += ' ';
    out += Sprint(a[i]);
  }
  return out;
}
// text/template's evalArgs: one string argument as is, else fmt.Sprint.
std::string EvalArgs(const Args& a) {
  if (a.size() == 1 && a[0].kind == Value::Kind::kString) return a[0].s;
  return GoSprint(a);
}

Value Print(const Args& a, const TemplateData&) { return String(GoSprint(a)); }
Value Println(const Args& a, const TemplateData&) {
  std::string out;
  for (size_t i = 0; i < a.size(); ++i) out += (i > 0 ? " " : "") + Sprint(a[i]);
  return String(out + "\n");
}
Value Printf(const Args& a, const TemplateData&) {
  return String(Sprintf(a[0].s, Args(a.begin() + 1, a.end())));
}

Value Html(const Args& a, const TemplateData&) {
  std::string out;
  for (char c : EvalArgs(a)) {
    switch (c) {
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\0':
        out += "\xef\xbf\xbd";
        break;
      default:
        out += c;
    }
  }
  return String(out);
}

Value Js(const Args& a, const TemplateData&) {
  std::string out;
  char buf[8];
  for (unsigned char c : EvalArgs(a)) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\'':
        out += "\\'";
        break;
      case '"':
        out += "\\\"";
        break;
      case '<':
        out += "\\u003C";
        break;
      case '>':
        out += "\\u003E";
        break;
      case '&':
        out += "\\u0026";
        break;
      case '=':
        out += "\\u003D";
        break;
      default:
        if (c < ' ') {
          std::snprintf(buf, sizeof(buf), "\\u%04X", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return String(out);
}

std::string QueryEscape(const std::string& s) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}
Value Urlquery(const Args& a, const TemplateData&) { return String(QueryEscape(EvalArgs(a))); }

Value Call(const Args& a, const TemplateData&) {
  if (a[0].kind == Value::Kind::kInvalid) Fail("call of nil");
  Fail("non-function of type " + TypeName(a[0]));
}

// ---- Prometheus ----
double ToFloat(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kFloat:
      return v.f;
    case Value::Kind::kInt:
      return static_cast<double>(v.i);
    case Value::Kind::kString: {
      const std::string& s = v.s;
      auto invalid = [&] {
        Fail("strconv.ParseFloat: parsing " + GoQuote(s) + ": invalid syntax");
      };
      if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) invalid();
      std::string lower;
      for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string body = lower[0] == '+' || lower[0] == '-' ? lower.substr(1) : lower;
      if (body == "inf" || body == "infinity") return lower[0] == '-' ? -INFINITY : INFINITY;
      if (body == "nan") return NAN;
      if (body.find_first_not_of("0123456789.e+-x_p abcdef") != std::string::npos) invalid();
      errno = 0;
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (end != s.c_str() + s.size()) invalid();
      if (errno == ERANGE && std::isinf(d)) {
        Fail("strconv.ParseFloat: parsing " + GoQuote(s) + ": value out of range");
      }
      return d;
    }
    case Value::Kind::kInvalid:
      Fail("can't convert <nil> to float");
    default:
      Fail("can't convert " + TypeName(v) + " to float");
  }
}

Value Humanize(const Args& a, const TemplateData&) {
  double v = ToFloat(a[0]);
  if (v == 0 || std::isnan(v) || std::isinf(v)) return String(FormatG4Value(v));
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
  return String(FormatG4Value(v) + prefix);
}

Value Humanize1024(const Args& a, const TemplateData&) {
  double v = ToFloat(a[0]);
  if (std::fabs(v) <= 1 || std::isnan(v) || std::isinf(v)) return String(FormatG4Value(v));
  std::string prefix;
  for (const char* p : {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"}) {
    if (std::fabs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return String(FormatG4Value(v) + prefix);
}

Value HumanizeDuration(const Args& a, const TemplateData&) {
  double v = ToFloat(a[0]);
  if (std::isnan(v) || std::isinf(v)) return String(FormatG4Value(v));
  if (v == 0) return String(FormatG4Value(v) + "s");
  if (std::fabs(v) >= 1) {
    std::string sign;
    if (v < 0) {
      sign = "-";
      v = -v;
    }
    int64_t d = GoInt64(v);
    int64_t seconds = d % 60, minutes = (d / 60) % 60, hours = (d / 3600) % 24, days = d / 86400;
    auto i = [](int64_t x) { return std::to_string(x); };
    if (days != 0) {
      return String(sign + i(days) + "d " + i(hours) + "h " + i(minutes) + "m " + i(seconds) + "s");
    }
    if (hours != 0) return String(sign + i(hours) + "h " + i(minutes) + "m " + i(seconds) + "s");
    if (minutes != 0) return String(sign + i(minutes) + "m " + i(seconds) + "s");
    return String(sign + FormatG4Value(v) + "s");
  }
  std::string prefix;
  for (const char* p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
    if (std::fabs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return String(FormatG4Value(v) + prefix + "s");
}

Value HumanizePercentage(const Args& a, const TemplateData&) {
  return String(FormatG4Value(ToFloat(a[0]) * 100) + "%");
}

// Prometheus's floatToTime: millisecond precision (model.Time).
std::optional<Value> FloatToTime(double v) {
  if (std::isnan(v) || std::isinf(v)) return std::nullopt;
  double ts = v * 1e9;
  if (ts >= 9.223372036854775807e18 || ts < -9.223372036854775808e18) {
    Fail(Sprint(Float(v)) +
         " cannot be represented as a nanoseconds timestamp since it overflows int64");
  }
  int64_t ms = GoInt64(ts) / 1'000'000;
  Value t;
  t.kind = Value::Kind::kTime;
  t.i = ms * 1'000'000;
  return t;
}

Value HumanizeTimestamp(const Args& a, const TemplateData&) {
  double v = ToFloat(a[0]);
  auto t = FloatToTime(v);
  if (!t) return String(FormatG4Value(v));
  return String(Sprint(*t));
}

Value ToTime(const Args& a, const TemplateData&) {
  auto t = FloatToTime(ToFloat(a[0]));
  if (!t) Fail("value is NaN or Inf");
  return *t;
}

Value Title(const Args& a, const TemplateData&) {
  std::string s = a[0].s;
  bool prev_sep = true;
  for (char& c : s) {
    auto u = static_cast<unsigned char>(c);
    bool sep = u < 0x80 && !std::isalnum(u) && u != '_';
    if (prev_sep && u < 0x80 && std::islower(u)) c = static_cast<char>(std::toupper(u));
    if ((u & 0xc0) != 0x80) prev_sep = sep;  // continuation bytes keep the rune's state
  }
  return String(s);
}
Value ToUpper(const Args& a, const TemplateData&) {
  std::string s = a[0].s;
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return String(s);
}
Value ToLower(const Args& a, const TemplateData&) {
  std::string s = a[0].s;
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return String(s);
}

// Go's regexp error text for RE2's codes.
std::string RegexpError(const RE2& re) {
  const char* what = "invalid or unsupported Perl syntax";
  switch (re.error_code()) {
    case RE2::ErrorMissingParen:
      what = "missing closing )";
      break;
    case RE2::ErrorMissingBracket:
      what = "missing closing ]";
      break;
    case RE2::ErrorBadEscape:
      what = "invalid escape sequence";
      break;
    case RE2::ErrorRepeatArgument:
      what = "missing argument to repetition operator";
      break;
    case RE2::ErrorRepeatSize:
      what = "invalid repeat count";
      break;
    case RE2::ErrorBadCharRange:
      what = "invalid character class range";
      break;
    case RE2::ErrorBadCharClass:
      what = "invalid character class";
      break;
    case RE2::ErrorUnexpectedParen:
      what = "unexpected )";
      break;
    case RE2::ErrorTrailingBackslash:
      what = "trailing backslash at end of expression";
      break;
    case RE2::ErrorRepeatOp:
      what = "invalid nested repetition operator";
      break;
    case RE2::ErrorBadNamedCapture:
      what = "invalid named capture";
      break;
    case RE2::ErrorBadUTF8:
      what = "invalid UTF-8";
      break;
    default:
      break;
  }
  return std::string("error parsing regexp: ") + what + ": `" + re.error_arg() + "`";
}

RE2::Options GoRegexpOptions() {
  RE2::Options o;
  o.set_log_errors(false);
  return o;
}

Value Match(const Args& a, const TemplateData&) {
  RE2 re(a[0].s, GoRegexpOptions());
  if (!re.ok()) Fail(RegexpError(re));
  return Bool(RE2::PartialMatch(a[1].s, re));
}

// Go's Regexp.Expand of one match into out.
void Expand(const RE2& re, const std::string& repl, const std::vector<re2::StringPiece>& groups,
            std::string& out) {
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
    std::string name;
    size_t j = i + 1;
    if (repl[j] == '{') {
      size_t close = repl.find('}', j);
      if (close == std::string::npos) {
        out += '$';
        continue;
      }
      name = repl.substr(j + 1, close - j - 1);
      j = close + 1;
    } else {
      while (j < repl.size() &&
             (std::isalnum(static_cast<unsigned char>(repl[j])) || repl[j] == '_')) {
        ++j;
      }
      name = repl.substr(i + 1, j - i - 1);
    }
    bool valid_name = !name.empty();
    for (char c : name)
      valid_name = valid_name && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!valid_name) {
      out += '$';
      continue;
    }
    i = j - 1;
    int idx = -1;
    if (std::all_of(name.begin(), name.end(),
                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      idx = name.size() < 9 ? std::atoi(name.c_str()) : -1;
    } else if (auto it = re.NamedCapturingGroups().find(name);
               it != re.NamedCapturingGroups().end()) {
      idx = it->second;
    }
    if (idx >= 0 && idx < static_cast<int>(groups.size()) && groups[idx].data() != nullptr) {
      out.append(groups[idx].data(), groups[idx].size());
    }
  }
}

Value ReReplaceAll(const Args& a, const TemplateData&) {
  const std::string& pattern = a[0].s;
  RE2 re(pattern, GoRegexpOptions());
  if (!re.ok()) {
    std::string quoted =
        pattern.find('`') == std::string::npos ? "`" + pattern + "`" : GoQuote(pattern);
    Fail("regexp: Compile(" + quoted + "): " + RegexpError(re));
  }
  const std::string& repl = a[1].s;
  const std::string& text = a[2].s;
  const int n = re.NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> groups(static_cast<size_t>(n));
  std::string out;
  size_t last_end = 0, search = 0;
  re2::StringPiece input(text);
  while (search <= text.size() &&
         re.Match(input, search, text.size(), RE2::UNANCHORED, groups.data(), n)) {
    size_t start = static_cast<size_t>(groups[0].data() - text.data());
    size_t end = start + groups[0].size();
    out.append(text, last_end, start - last_end);
    if (end > last_end || start == 0) Expand(re, repl, groups, out);
    last_end = end;
    size_t width = 1;
    if (search < text.size()) {
      auto c = static_cast<unsigned char>(text[search]);
      width = c >= 0xf0 ? 4 : (c >= 0xe0 ? 3 : (c >= 0xc0 ? 2 : 1));
    }
    if (search + width > end) {
      search += width;
    } else if (search + 1 > end) {
      ++search;
    } else {
      search = end;
    }
  }
  out.append(text, std::min(last_end, text.size()), std::string::npos);
  return String(out);
}

Value SafeHtml(const Args& a, const TemplateData&) {
  Value v = String(a[0].s);
  v.kind = Value::Kind::kHTML;
  return v;
}

Value GraphLink(const Args& a, const TemplateData&) {
  return String("/graph?g0.expr=" + QueryEscape(a[0].s) + "&g0.tab=0");
}
Value TableLink(const Args& a, const TemplateData&) {
  return String("/graph?g0.expr=" + QueryEscape(a[0].s) + "&g0.tab=1");
}

// net.SplitHostPort; false on any of its errors.
bool SplitHostPort(const std::string& hp, std::string& host, std::string& port) {
  size_t i = hp.rfind(':');
  if (i == std::string::npos) return false;
  size_t j = 0, k = 0;
  if (!hp.empty() && hp[0] == '[') {
    size_t end = hp.find(']');
    if (end == std::string::npos) return false;
    if (end + 1 == hp.size()) return false;
    if (end + 1 != i) return false;
    host = hp.substr(1, end - 1);
    j = 1;
    k = end + 1;
  } else {
    host = hp.substr(0, i);
    if (host.find(':') != std::string::npos) return false;
  }
  if (hp.find('[', j) != std::string::npos) return false;
  if (hp.find(']', k) != std::string::npos) return false;
  port = hp.substr(i + 1);
  return true;
}

Value StripPort(const Args& a, const TemplateData&) {
  std::string host, port;
  if (!SplitHostPort(a[0].s, host, port)) return String(a[0].s);
  return String(host);
}

Value StripDomain(const Args& a, const TemplateData&) {
  const std::string& hp = a[0].s;
  std::string host, port;
  if (!SplitHostPort(hp, host, port)) {
    host = hp;
    port.clear();
  }
  unsigned char buf[16];
  if (inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1) {
    return String(hp);
  }
  host = host.substr(0, host.find('.'));
  if (!port.empty()) {
    return String(host.find(':') != std::string::npos ? "[" + host + "]:" + port
                                                      : host + ":" + port);
  }
  return String(host);
}

Value ParseDurationF(const Args& a, const TemplateData&) {
  if (a[0].s.empty()) Fail("empty duration string");  // model.ParseDuration's words
  auto d = config::ParseDuration(a[0].s);
  if (!d.ok()) Fail(d.status().message());
  return Float(static_cast<double>(d->count()) / 1000.0);
}

Value ExternalURL(const Args&, const TemplateData& data) {
  if (!data.url_object) Fail(kNilDeref);
  return String(*data.url_object);
}
Value PathPrefix(const Args&, const TemplateData& data) {
  if (!data.url_object) Fail(kNilDeref);
  const std::string& u = *data.url_object;
  size_t scheme = u.find("://");
  size_t start = scheme == std::string::npos ? 0 : u.find('/', scheme + 3);
  if (start == std::string::npos) return String("");
  size_t end = u.find_first_of("?#", start);
  return String(u.substr(start, end == std::string::npos ? std::string::npos : end - start));
}

Value Query(const Args& a, const TemplateData& data) {
  if (!data.query) Fail(kNilDeref);
  auto r = data.query(a[0].s);
  if (!r.ok()) Fail(r.status().message());
  auto samples = std::make_shared<std::vector<std::shared_ptr<const TemplateSample>>>();
  for (auto& s : *r) samples->push_back(std::make_shared<const TemplateSample>(std::move(s)));
  Value v;
  v.kind = Value::Kind::kResult;
  v.result = std::move(samples);
  return v;
}

Value First(const Args& a, const TemplateData&) {
  if (!a[0].result || a[0].result->empty()) Fail("first() called on vector with no elements");
  return SampleAt(a[0], 0);
}
Value Label(const Args& a, const TemplateData&) {
  if (!a[1].sample) Fail(kNilDeref);
  auto it = a[1].sample->labels.find(a[0].s);
  return String(it == a[1].sample->labels.end() ? "" : it->second);
}
Value ValueF(const Args& a, const TemplateData&) {
  if (!a[0].sample) Fail(kNilDeref);
  return Float(a[0].sample->value);
}
Value StrValue(const Args& a, const TemplateData&) {
  if (!a[0].sample) Fail(kNilDeref);
  auto it = a[0].sample->labels.find("__value__");
  return String(it == a[0].sample->labels.end() ? "" : it->second);
}
Value SortByLabel(const Args& a, const TemplateData&) {
  Value v = a[1];
  if (!v.result) return v;
  auto sorted = std::make_shared<std::vector<std::shared_ptr<const TemplateSample>>>(*v.result);
  const std::string& by = a[0].s;
  auto label = [&](const std::shared_ptr<const TemplateSample>& s) {
    auto it = s->labels.find(by);
    return it == s->labels.end() ? std::string() : it->second;
  };
  std::stable_sort(sorted->begin(), sorted->end(),
                   [&](const auto& x, const auto& y) { return label(x) < label(y); });
  v.result = std::move(sorted);
  return v;
}
Value ArgsF(const Args& a, const TemplateData&) {
  auto m = std::make_shared<std::map<std::string, Value>>();
  for (size_t i = 0; i < a.size(); ++i) (*m)["arg" + std::to_string(i)] = a[i];
  Value v;
  v.kind = Value::Kind::kAnyMap;
  v.amap = std::move(m);
  return v;
}

const std::map<std::string, Function>& Table() {
  using P = Param;
  static const std::map<std::string, Function> kTable = {
      // Go's builtins.
      {"and", {{P::kReflect, P::kReflect}, true, true, Unreachable}},
      {"or", {{P::kReflect, P::kReflect}, true, true, Unreachable}},
      {"not", {{P::kReflect}, false, true, NotF}},
      {"call", {{P::kReflect, P::kReflect}, true, true, Call}},
      {"html", {{P::kAny}, true, true, Html}},
      {"js", {{P::kAny}, true, true, Js}},
      {"urlquery", {{P::kAny}, true, true, Urlquery}},
      {"index", {{P::kReflect, P::kReflect}, true, true, Index}},
      {"slice", {{P::kReflect, P::kReflect}, true, true, Slice}},
      {"len", {{P::kReflect}, false, true, Len}},
      {"print", {{P::kAny}, true, true, Print}},
      {"printf", {{P::kString, P::kAny}, true, true, Printf}},
      {"println", {{P::kAny}, true, true, Println}},
      {"eq", {{P::kReflect, P::kReflect}, true, true, Eq}},
      {"ne", {{P::kReflect, P::kReflect}, false, true, NeF}},
      {"lt", {{P::kReflect, P::kReflect}, false, true, LtF}},
      {"le", {{P::kReflect, P::kReflect}, false, true, LeF}},
      {"gt", {{P::kReflect, P::kReflect}, false, true, GtF}},
      {"ge", {{P::kReflect, P::kReflect}, false, true, GeF}},
      // Prometheus's.
      {"query", {{P::kString}, false, false, Query}},
      {"first", {{P::kResult}, false, false, First}},
      {"label", {{P::kString, P::kSample}, false, false, Label}},
      {"value", {{P::kSample}, false, false, ValueF}},
      {"strvalue", {{P::kSample}, false, false, StrValue}},
      {"args", {{P::kAny}, true, false, ArgsF}},
      {"reReplaceAll", {{P::kString, P::kString, P::kString}, false, false, ReReplaceAll}},
      {"safeHtml", {{P::kString}, false, false, SafeHtml}},
      {"match", {{P::kString, P::kString}, false, false, Match}},
      {"title", {{P::kString}, false, false, Title}},
      {"toUpper", {{P::kString}, false, false, ToUpper}},
      {"toLower", {{P::kString}, false, false, ToLower}},
      {"graphLink", {{P::kString}, false, false, GraphLink}},
      {"tableLink", {{P::kString}, false, false, TableLink}},
      {"sortByLabel", {{P::kString, P::kResult}, false, false, SortByLabel}},
      {"humanize", {{P::kAny}, false, false, Humanize}},
      {"humanize1024", {{P::kAny}, false, false, Humanize1024}},
      {"humanizeDuration", {{P::kAny}, false, false, HumanizeDuration}},
      {"humanizePercentage", {{P::kAny}, false, false, HumanizePercentage}},
      {"humanizeTimestamp", {{P::kAny}, false, false, HumanizeTimestamp}},
      {"toTime", {{P::kAny}, false, false, ToTime}},
      {"pathPrefix", {{}, false, false, PathPrefix}},
      {"externalURL", {{}, false, false, ExternalURL}},
      {"parseDuration", {{P::kString}, false, false, ParseDurationF}},
      {"stripPort", {{P::kString}, false, false, StripPort}},
      {"stripDomain", {{P::kString}, false, false, StripDomain}},
  };
  return kTable;
}

}  // namespace

const Function* FindFunction(const std::string& name) {
  const auto& t = Table();
  auto it = t.find(name);
  return it == t.end() ? nullptr : &it->second;
}

}  // namespace pgdr::rules::tmpl

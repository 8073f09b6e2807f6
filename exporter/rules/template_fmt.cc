// Go's fmt for template values: Sprint (%v) and Sprintf's verbs, flags,
// width and precision, with Go's %!verb(type=value) error forms.
#include <cmath>
#include <cstdio>
#include <ctime>

#include "pgdr/promql/parser.h"
#include "rules/template_tree.h"

namespace pgdr::rules::tmpl {

Value Bool(bool v) {
  Value r;
  r.kind = Value::Kind::kBool;
  r.b = v;
  return r;
}
Value Int(int64_t v) {
  Value r;
  r.kind = Value::Kind::kInt;
  r.i = v;
  return r;
}
Value Float(double v) {
  Value r;
  r.kind = Value::Kind::kFloat;
  r.f = v;
  return r;
}
Value String(std::string v) {
  Value r;
  r.kind = Value::Kind::kString;
  r.s = std::move(v);
  return r;
}
Value StrMap(std::map<std::string, std::string> m) {
  Value r;
  r.kind = Value::Kind::kStrMap;
  r.smap = std::make_shared<const std::map<std::string, std::string>>(std::move(m));
  return r;
}

std::string TypeName(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kInvalid:
      return "<nil>";
    case Value::Kind::kBool:
      return "bool";
    case Value::Kind::kInt:
      return "int";
    case Value::Kind::kUint8:
      return "uint8";
    case Value::Kind::kFloat:
      return "float64";
    case Value::Kind::kString:
      return "string";
    case Value::Kind::kHTML:
      return "template.HTML";
    case Value::Kind::kStrMap:
      return "map[string]string";
    case Value::Kind::kAnyMap:
      return "map[string]interface {}";
    case Value::Kind::kResult:
      return "template.queryResult";
    case Value::Kind::kSample:
      return "*template.sample";
    case Value::Kind::kTime:
      return "*time.Time";
    case Value::Kind::kData:
      return "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL "
             "string; Value float64 }";
  }
  return "";
}

bool Truth(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kInvalid:
      return false;
    case Value::Kind::kBool:
      return v.b;
    case Value::Kind::kInt:
    case Value::Kind::kUint8:
      return v.i != 0;
    case Value::Kind::kFloat:
      return v.f != 0;
    case Value::Kind::kString:
    case Value::Kind::kHTML:
      return !v.s.empty();
    case Value::Kind::kStrMap:
      return !v.smap->empty();
    case Value::Kind::kAnyMap:
      return !v.amap->empty();
    case Value::Kind::kResult:
      return v.result && !v.result->empty();
    case Value::Kind::kSample:
      return v.sample != nullptr;
    case Value::Kind::kTime:
    case Value::Kind::kData:
      return true;
  }
  return false;
}

std::string GoQuote(const std::string& s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '\a':
        out += "\\a";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\v':
        out += "\\v";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '"':
        out += "\\\"";
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
      continue;
    }
    if (c < 0x80) {
      out += static_cast<char>(c);
      continue;
    }
    // A valid UTF-8 sequence is kept; a stray byte is escaped.
    size_t n = c >= 0xf0 ? 4 : (c >= 0xe0 ? 3 : (c >= 0xc0 ? 2 : 0));
    bool valid = n > 0 && i + n <= s.size();
    for (size_t k = 1; valid && k < n; ++k) {
      valid = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    }
    if (!valid) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
      continue;
    }
    out.append(s, i, n);
    i += n - 1;
  }
  return out + "\"";
}

namespace {

std::string TimeString(int64_t ns) {
  int64_t secs = ns / 1'000'000'000;
  int64_t frac = ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --secs;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
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
  return out + " +0000 UTC";
}

struct Spec {
  bool plus = false, minus = false, sharp = false, space = false, zero = false;
  int width = -1, prec = -1;
};

std::string Pad(const std::string& s, const Spec& sp, bool zero_ok = true) {
  // Width counts runes.
  int runes = 0;
  for (unsigned char c : s) runes += (c & 0xc0) != 0x80;
  if (sp.width < 0 || runes >= sp.width) return s;
  std::string fill(static_cast<size_t>(sp.width - runes),
                   (sp.zero && zero_ok && !sp.minus) ? '0' : ' ');
  if (sp.minus) return s + fill;
  if (fill[0] == '0' && !s.empty() && (s[0] == '+' || s[0] == '-' || s[0] == ' ')) {
    return s.substr(0, 1) + fill + s.substr(1);
  }
  return fill + s;
}

std::string FormatValue(const Value& v, char verb, const Spec& sp, int depth);

std::string BadVerb(const Value& v, char verb) {
  if (v.kind == Value::Kind::kInvalid) return std::string("%!") + verb + "(<nil>)";
  return std::string("%!") + verb + "(" + TypeName(v) + "=" + FormatValue(v, 'v', Spec{}, 0) + ")";
}

std::string Digits(uint64_t u, int base, bool upper) {
  if (u == 0) return "0";
  const char* d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  while (u > 0) {
    out.insert(out.begin(), d[u % static_cast<uint64_t>(base)]);
    u /= static_cast<uint64_t>(base);
  }
  return out;
}

std::string Utf8(int64_t r) {
  std::string out;
  if (r < 0 || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) r = 0xfffd;
  if (r < 0x80) {
    out += static_cast<char>(r);
  } else if (r < 0x800) {
    out += static_cast<char>(0xc0 | (r >> 6));
    out += static_cast<char>(0x80 | (r & 63));
  } else if (r < 0x10000) {
    out += static_cast<char>(0xe0 | (r >> 12));
    out += static_cast<char>(0x80 | ((r >> 6) & 63));
    out += static_cast<char>(0x80 | (r & 63));
  } else {
    out += static_cast<char>(0xf0 | (r >> 18));
    out += static_cast<char>(0x80 | ((r >> 12) & 63));
    out += static_cast<char>(0x80 | ((r >> 6) & 63));
    out += static_cast<char>(0x80 | (r & 63));
  }
  return out;
}

std::string FormatInt(int64_t x, bool is_unsigned, char verb, const Spec& sp, const Value& v) {
  bool neg = !is_unsigned && x < 0;
  uint64_t u = neg ? static_cast<uint64_t>(-(x + 1)) + 1 : static_cast<uint64_t>(x);
  std::string digits;
  std::string prefix;
  switch (verb) {
    case 'v':
    case 'd':
      digits = Digits(u, 10, false);
      break;
    case 'b':
      digits = Digits(u, 2, false);
      break;
    case 'o':
    case 'O':
      digits = Digits(u, 8, false);
      if (verb == 'O') prefix = "0o";
      if (sp.sharp && verb == 'o' && digits != "0") prefix = "0";
      break;
    case 'x':
    case 'X':
      digits = Digits(u, 16, verb == 'X');
      if (sp.sharp) prefix = verb == 'x' ? "0x" : "0X";
      break;
    case 'c':
      return Pad(Utf8(x), sp, false);
    case 'q':
      return Pad("'" + Utf8(x) + "'", sp, false);
    case 'U': {
      std::string h = Digits(u, 16, true);
      while (h.size() < 4) h = "0" + h;
      return Pad("U+" + h, sp, false);
    }
    default:
      return BadVerb(v, verb);
  }
  if (sp.prec >= 0) {
    while (static_cast<int>(digits.size()) < sp.prec) digits = "0" + digits;
    if (sp.prec == 0 && u == 0) digits.clear();
  }
  std::string sign = neg ? "-" : (sp.plus ? "+" : (sp.space ? " " : ""));
  std::string body = prefix + digits;
  if (sp.zero && !sp.minus && sp.prec < 0 && sp.width > 0) {
    while (static_cast<int>(sign.size() + body.size()) < sp.width) body = "0" + body;
    if (!prefix.empty()) {
      // Go puts the zeros after the prefix.
      body = prefix + body.substr(prefix.size() + 0);
    }
    return sign + body;
  }
  Spec no_zero = sp;
  no_zero.zero = false;
  return Pad(sign + body, no_zero);
}

std::string FormatFloatVerb(double f, char verb, const Spec& sp, const Value& v) {
  std::string num;
  if (std::isnan(f) || std::isinf(f)) {
    num = std::isnan(f) ? "NaN" : (f > 0 ? "+Inf" : "-Inf");
    if (std::isnan(f) && sp.plus) num = "+NaN";
    if (std::isnan(f) && sp.space && !sp.plus) num = " NaN";
    if (std::isinf(f) && f > 0 && sp.space && !sp.plus) num = " Inf";
    Spec no_zero = sp;
    no_zero.zero = false;
    return Pad(num, no_zero);
  }
  switch (verb) {
    case 'v':
    case 'g':
    case 'G':
      if (sp.prec < 0 && !sp.sharp) {
        num = promql::FormatFloat(f);
        if (verb == 'G') {
          for (char& c : num) c = c == 'e' ? 'E' : c;
        }
        break;
      }
      [[fallthrough]];
    case 'e':
    case 'E':
    case 'f':
    case 'F': {
      std::string fmt = "%";
      if (sp.sharp) fmt += '#';
      if (sp.prec >= 0) fmt += "." + std::to_string(sp.prec);
      fmt += verb == 'v' ? 'g' : verb;
      char buf[512];
      std::snprintf(buf, sizeof(buf), fmt.c_str(), f);
      num = buf;
      break;
    }
    case 'x':
    case 'X': {
      // Go's hexadecimal mantissa and a two-digit binary exponent.
      std::string fmt = sp.prec >= 0 ? "%." + std::to_string(sp.prec) + "a" : "%a";
      char buf[128];
      std::snprintf(buf, sizeof(buf), fmt.c_str(), f);
      num = buf;
      size_t p = num.find('p');
      if (p != std::string::npos && num.size() - p == 3) num.insert(p + 2, "0");
      if (verb == 'X') {
        for (char& c : num) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      break;
    }
    default:
      return BadVerb(v, verb);
  }
  if (num[0] != '-') {
    if (sp.plus) {
      num = "+" + num;
    } else if (sp.space) {
      num = " " + num;
    }
  }
  return Pad(num, sp);
}

std::string FormatString(const std::string& s, char verb, const Spec& sp, const Value& v) {
  switch (verb) {
    case 'v':
    case 's': {
      if (sp.sharp && verb == 'v') return Pad(GoQuote(s), sp);
      std::string t = s;
      if (sp.prec >= 0) {
        size_t i = 0;
        int runes = 0;
        while (i < t.size() && runes < sp.prec) {
          ++i;
          while (i < t.size() && (static_cast<unsigned char>(t[i]) & 0xc0) == 0x80) ++i;
          ++runes;
        }
        t = t.substr(0, i);
      }
      return Pad(t, sp);
    }
    case 'q':
      if (sp.sharp && s.find_first_of("`\n\r\t\x7f") == std::string::npos) {
        return Pad("`" + s + "`", sp);
      }
      return Pad(GoQuote(s), sp);
    case 'x':
    case 'X': {
      std::string out;
      char buf[4];
      for (size_t i = 0; i < s.size(); ++i) {
        if (sp.space && i > 0) out += ' ';
        if (sp.sharp && (sp.space || i == 0)) out += verb == 'x' ? "0x" : "0X";
        std::snprintf(buf, sizeof(buf), verb == 'x' ? "%02x" : "%02X",
                      static_cast<unsigned char>(s[i]));
        out += buf;
      }
      return Pad(out, sp);
    }
    default:
      return BadVerb(v, verb);
  }
}

std::string FormatValue(const Value& v, char verb, const Spec& sp, int depth) {
  switch (v.kind) {
    case Value::Kind::kInvalid:
      if (verb == 'v') return Pad("<nil>", sp);
      return BadVerb(v, verb);
    case Value::Kind::kBool:
      if (verb == 'v' || verb == 't') return Pad(v.b ? "true" : "false", sp);
      return BadVerb(v, verb);
    case Value::Kind::kInt:
      return FormatInt(v.i, false, verb, sp, v);
    case Value::Kind::kUint8:
      return FormatInt(v.i, true, verb, sp, v);
    case Value::Kind::kFloat:
      return FormatFloatVerb(v.f, verb, sp, v);
    case Value::Kind::kString:
    case Value::Kind::kHTML:
      return FormatString(v.s, verb, sp, v);
    case Value::Kind::kStrMap: {
      std::string out = "map[";
      bool first = true;
      for (const auto& [k, val] : *v.smap) {
        if (!first) out += ' ';
        first = false;
        out +=
            FormatString(k, verb, sp, String(k)) + ":" + FormatString(val, verb, sp, String(val));
      }
      return out + "]";
    }
    case Value::Kind::kAnyMap: {
      std::string out = "map[";
      bool first = true;
      for (const auto& [k, val] : *v.amap) {
        if (!first) out += ' ';
        first = false;
        out += FormatString(k, verb, sp, String(k)) + ":" + FormatValue(val, verb, sp, depth + 1);
      }
      return out + "]";
    }
    case Value::Kind::kSample: {
      if (!v.sample) return verb == 'v' ? "<nil>" : BadVerb(v, verb);
      Value labels = StrMap(v.sample->labels);
      std::string body = "{" + FormatValue(labels, verb, sp, depth + 1) + " " +
                         FormatValue(Float(v.sample->value), verb, sp, depth + 1) + "}";
      return depth == 0 ? "&" + body : body;
    }
    case Value::Kind::kResult: {
      std::string out = "[";
      if (v.result) {
        for (size_t i = 0; i < v.result->size(); ++i) {
          if (i > 0) out += ' ';
          Value s;
          s.kind = Value::Kind::kSample;
          s.sample = (*v.result)[i];
          out += FormatValue(s, verb, sp, 0);
        }
      }
      return out + "]";
    }
    case Value::Kind::kTime:
      if (verb == 'v' || verb == 's' || verb == 'q' || verb == 'x' || verb == 'X') {
        return FormatString(TimeString(v.i), verb, sp, v);
      }
      return BadVerb(v, verb);
    case Value::Kind::kData: {
      const TemplateData& d = *v.data;
      return "{" + FormatValue(StrMap(d.labels), verb, sp, depth + 1) + " " +
             FormatValue(StrMap(d.external_labels), verb, sp, depth + 1) + " " +
             FormatString(d.external_url, verb, sp, String(d.external_url)) + " " +
             FormatFloatVerb(d.value, verb, sp, Float(d.value)) + "}";
    }
  }
  return "";
}

}  // namespace

std::string Sprint(const Value& v) { return FormatValue(v, 'v', Spec{}, 0); }

std::string Sprintf(const std::string& format, const std::vector<Value>& args) {
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out += format[i];
      continue;
    }
    Spec sp;
    size_t j = i + 1;
    for (; j < format.size(); ++j) {
      char c = format[j];
      if (c == '+') {
        sp.plus = true;
      } else if (c == '-') {
        sp.minus = true;
      } else if (c == '#') {
        sp.sharp = true;
      } else if (c == ' ') {
        sp.space = true;
      } else if (c == '0') {
        sp.zero = true;
      } else {
        break;
      }
    }
    auto number = [&](int& dst) {
      size_t start = j;
      int n = 0;
      while (j < format.size() && std::isdigit(static_cast<unsigned char>(format[j])) &&
             n < 1000000) {
        n = n * 10 + (format[j] - '0');
        ++j;
      }
      if (j > start) dst = n;
      return j > start;
    };
    number(sp.width);
    if (j < format.size() && format[j] == '.') {
      ++j;
      if (!number(sp.prec)) sp.prec = 0;
    }
    if (j >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    char verb = format[j];
    i = j;
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (next >= args.size()) {
      out += std::string("%!") + verb + "(MISSING)";
      continue;
    }
    const Value& a = args[next++];
    if (verb == 'T') {
      out += Pad(TypeName(a), sp);
      continue;
    }
    out += FormatValue(a, verb, sp, 0);
  }
  if (next < args.size()) {
    out += "%!(EXTRA ";
    for (size_t k = next; k < args.size(); ++k) {
      if (k > next) out += ", ";
      out += TypeName(args[k]) + "=" + Sprint(args[k]);
    }
    out += ")";
  }
  return out;
}

std::string FormatG4Value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.4g", v);
  return buf;
}

}  // namespace pgdr::rules::tmpl

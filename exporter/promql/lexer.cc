// The PromQL lexer: numbers, durations, strings, identifiers, operators.
#include "promql/lexer.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace pgdr::promql {
namespace {

bool IsAlpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Length of a duration at the start of `s` ("1h30m"), 0 if none.
size_t DurationLength(std::string_view s) {
  size_t i = 0;
  size_t last_good = 0;
  while (i < s.size() && IsDigit(s[i])) {
    while (i < s.size() && IsDigit(s[i])) ++i;
    if (i + 1 < s.size() && s[i] == 'm' && s[i + 1] == 's') {
      i += 2;
    } else if (i < s.size() && std::string_view("smhdwy").find(s[i]) != std::string_view::npos) {
      ++i;
    } else {
      return last_good;
    }
    last_good = i;
  }
  return last_good;
}

}  // namespace

std::string ParseErrorAt(std::string_view input, int pos, std::string_view msg) {
  int line = 1;
  int col = 1;
  for (int i = 0; i < pos && i < static_cast<int>(input.size()); ++i) {
    if (input[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col) + ": parse error: " + std::string(msg);
}

core::Result<int64_t> ParseDurationMs(std::string_view text) {
  if (text.empty() || DurationLength(text) != text.size()) {
    return core::Status::InvalidArgument("not a valid duration string: \"" + std::string(text) +
                                         "\"");
  }
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    int64_t n = 0;
    while (IsDigit(text[i])) {
      n = n * 10 + (text[i] - '0');
      if (n > std::numeric_limits<int64_t>::max() / 1000 / 3600 / 24 / 365) {
        return core::Status::InvalidArgument("duration out of range: \"" + std::string(text) +
                                             "\"");
      }
      ++i;
    }
    int64_t unit = 0;
    if (text.substr(i, 2) == "ms") {
      unit = 1;
      i += 2;
    } else {
      switch (text[i]) {
        case 's':
          unit = 1000;
          break;
        case 'm':
          unit = 60'000;
          break;
        case 'h':
          unit = 3'600'000;
          break;
        case 'd':
          unit = 86'400'000;
          break;
        case 'w':
          unit = 7 * 86'400'000LL;
          break;
        case 'y':
          unit = 365 * 86'400'000LL;
          break;
      }
      ++i;
    }
    total += n * unit;
  }
  return total;
}

core::Result<std::string> Unquote(std::string_view q) {
  if (q.size() < 2 || q.front() != q.back()) return core::Status::InvalidArgument("invalid syntax");
  const char quote = q.front();
  std::string_view body = q.substr(1, q.size() - 2);
  if (quote == '`') return std::string(body);
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == quote || c == '\n') return core::Status::InvalidArgument("invalid syntax");
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= body.size()) return core::Status::InvalidArgument("invalid syntax");
    c = body[i];
    auto hex = [&](int digits) -> core::Result<uint32_t> {
      uint32_t v = 0;
      for (int k = 1; k <= digits; ++k) {
        if (i + k >= body.size() || !std::isxdigit(static_cast<unsigned char>(body[i + k]))) {
          return core::Status::InvalidArgument("invalid syntax");
        }
        char h = body[i + k];
        v = v * 16 + (IsDigit(h) ? h - '0' : (std::tolower(h) - 'a' + 10));
      }
      i += digits;
      return v;
    };
    switch (c) {
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case '\\':
        out += '\\';
        break;
      case '\'':
      case '"':
        if (c != quote) return core::Status::InvalidArgument("invalid syntax");
        out += c;
        break;
      case 'x': {
        auto v = hex(2);
        if (!v.ok()) return v.status();
        out += static_cast<char>(*v);
        break;
      }
      case 'u':
      case 'U': {
        auto v = hex(c == 'u' ? 4 : 8);
        if (!v.ok()) return v.status();
        AppendUtf8(out, *v);
        break;
      }
      default:
        if (c >= '0' && c <= '7') {
          if (i + 2 >= body.size()) {
            return core::Status::InvalidArgument("invalid syntax");
          }
          uint32_t v = 0;
          for (int k = 0; k < 3; ++k) {
            char o = body[i + k];
            if (o < '0' || o > '7') return core::Status::InvalidArgument("invalid syntax");
            v = v * 8 + (o - '0');
          }
          if (v > 255) return core::Status::InvalidArgument("invalid syntax");
          i += 2;
          out += static_cast<char>(v);
        } else {
          return core::Status::InvalidArgument("unknown escape sequence");
        }
    }
  }
  return out;
}

core::Result<std::vector<Token>> Lex(std::string_view in) {
  std::vector<Token> out;
  const int n = static_cast<int>(in.size());
  int i = 0;
  int bracket_depth = 0;
  auto error = [&](int pos, std::string_view msg) {
    return core::Status::InvalidArgument(ParseErrorAt(in, pos, msg));
  };
  auto emit = [&](Tok t, int start, int end) {
    out.push_back(Token{t, start, end, {}, 0, 0});
    return &out.back();
  };
  while (i < n) {
    char c = in[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (c == '#') {
      while (i < n && in[i] != '\n') ++i;
      continue;
    }
    const int start = i;
    if (IsDigit(c) || (c == '.' && i + 1 < n && IsDigit(in[i + 1]))) {
      size_t dlen = DurationLength(in.substr(i));
      if (dlen > 0 && (i + static_cast<int>(dlen) >= n || !IsAlnum(in[i + dlen]))) {
        auto d = ParseDurationMs(in.substr(i, dlen));
        if (!d.ok()) return error(start, d.status().message());
        if (*d == 0) return error(start, "duration must be greater than 0");
        i += static_cast<int>(dlen);
        emit(Tok::kDuration, start, i)->duration_ms = *d;
        continue;
      }
      char* endp = nullptr;
      std::string buf(in.substr(i));
      errno = 0;
      double v;
      if (buf.size() > 1 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X')) {
        v = static_cast<double>(std::strtoull(buf.c_str(), &endp, 16));
      } else {
        v = std::strtod(buf.c_str(), &endp);
      }
      int len = static_cast<int>(endp - buf.c_str());
      if (len == 0 || (i + len < n && (IsAlnum(in[i + len]) || in[i + len] == '.'))) {
        return error(start, "bad number or duration syntax: \"" +
                                std::string(in.substr(i, std::max(len, 1) + 1)) + "\"");
      }
      i += len;
      emit(Tok::kNumber, start, i)->number = v;
      continue;
    }
    if (c == ':' && bracket_depth > 0) {
      ++i;
      emit(Tok::kColon, start, i);
      continue;
    }
    if (IsAlpha(c) || c == ':') {
      while (i < n && (IsAlnum(in[i]) || in[i] == ':')) ++i;
      std::string text(in.substr(start, i - start));
      std::string lower = Lower(text);
      if (lower == "inf" || lower == "nan") {
        emit(Tok::kNumber, start, i)->number = lower == "inf"
                                                   ? std::numeric_limits<double>::infinity()
                                                   : std::numeric_limits<double>::quiet_NaN();
        continue;
      }
      static const std::string_view kKeywords[] = {
          "and",      "or",         "unless",      "atan2",        "by",      "without", "on",
          "ignoring", "group_left", "group_right", "bool",         "offset",  "start",   "end",
          "sum",      "avg",        "min",         "max",          "count",   "group",   "stddev",
          "stdvar",   "topk",       "bottomk",     "count_values", "quantile"};
      for (std::string_view k : kKeywords) {
        if (lower == k) text = lower;  // keywords are case-insensitive
      }
      emit(Tok::kIdentifier, start, i)->text = std::move(text);
      continue;
    }
    if (c == '"' || c == '\'' || c == '`') {
      ++i;
      while (i < n && in[i] != c) {
        if (in[i] == '\\' && c != '`') ++i;
        if (i < n && in[i] == '\n' && c != '`') return error(start, "unterminated quoted string");
        ++i;
      }
      if (i >= n) return error(start, "unterminated quoted string");
      ++i;
      auto s = Unquote(in.substr(start, i - start));
      if (!s.ok()) return error(start, s.status().message());
      emit(Tok::kString, start, i)->text = std::move(*s);
      continue;
    }
    auto two = [&](char a, char b) { return c == a && i + 1 < n && in[i + 1] == b; };
    Tok t;
    int len = 1;
    if (two('=', '=')) {
      t = Tok::kEqlc, len = 2;
    } else if (two('!', '=')) {
      t = Tok::kNeq, len = 2;
    } else if (two('<', '=')) {
      t = Tok::kLte, len = 2;
    } else if (two('>', '=')) {
      t = Tok::kGte, len = 2;
    } else if (two('=', '~')) {
      t = Tok::kEqlRegex, len = 2;
    } else if (two('!', '~')) {
      t = Tok::kNeqRegex, len = 2;
    } else {
      switch (c) {
        case '(':
          t = Tok::kLParen;
          break;
        case ')':
          t = Tok::kRParen;
          break;
        case '{':
          t = Tok::kLBrace;
          break;
        case '}':
          t = Tok::kRBrace;
          break;
        case '[':
          t = Tok::kLBracket, ++bracket_depth;
          break;
        case ']':
          t = Tok::kRBracket, --bracket_depth;
          break;
        case ',':
          t = Tok::kComma;
          break;
        case '=':
          t = Tok::kAssign;
          break;
        case '@':
          t = Tok::kAt;
          break;
        case '+':
          t = Tok::kAdd;
          break;
        case '-':
          t = Tok::kSub;
          break;
        case '*':
          t = Tok::kMul;
          break;
        case '/':
          t = Tok::kDiv;
          break;
        case '%':
          t = Tok::kMod;
          break;
        case '^':
          t = Tok::kPow;
          break;
        case '<':
          t = Tok::kLss;
          break;
        case '>':
          t = Tok::kGtr;
          break;
        default:
          return error(start, std::string("unexpected character: '") + c + "'");
      }
    }
    i += len;
    emit(t, start, i);
  }
  emit(Tok::kEof, n, n);
  return out;
}

}  // namespace pgdr::promql

#include "pgdr/core/strings.h"

#include <cmath>
#include <cstdio>

namespace pgdr::core {
namespace {

constexpr std::string_view kWhitespace = " \t\n\r\f\v";

}  // namespace

std::string_view Trim(std::string_view s) {
  const size_t begin = s.find_first_not_of(kWhitespace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kWhitespace) - begin + 1);
}

std::string PercentEncode(std::string_view text, Escape mode) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved || (c == '/' && mode == Escape::kPath)) {
      out += ch;
    } else if (c == ' ' && mode == Escape::kQuery) {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string_view TrimRight(std::string_view s) {
  const size_t end = s.find_last_not_of(kWhitespace);
  return end == std::string_view::npos ? std::string_view() : s.substr(0, end + 1);
}

void AppendQuoted(std::string& out, std::string_view s, QuoteStyle style) {
  out += '"';
  for (char c : s) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (byte < 0x20 || byte == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, style == QuoteStyle::kJson ? "\\u%04x" : "\\x%02x", byte);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

std::string Quoted(std::string_view s, QuoteStyle style) {
  std::string out;
  out.reserve(s.size() + 2);
  AppendQuoted(out, s, style);
  return out;
}

namespace {

// One decimal below 10 units, none above ("1.5 KiB", "16 MiB").
std::string Scaled(double value, double unit, const char* name) {
  const double v = value / unit;
  char buf[48];
  std::snprintf(buf, sizeof buf, std::fabs(v) < 10 && std::fmod(v, 1) != 0 ? "%.1f %s" : "%.0f %s",
                v, name);
  return buf;
}

}  // namespace

std::string HumanBytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double unit = 1;
  size_t i = 0;
  while (i + 1 < std::size(kUnits) && std::fabs(bytes) >= unit * 1024) {
    unit *= 1024;
    ++i;
  }
  return i == 0 ? Scaled(std::round(bytes), 1, "B") : Scaled(bytes, unit, kUnits[i]);
}

std::string HumanSeconds(double seconds) {
  const double a = std::fabs(seconds);
  if (a < 60) return Scaled(a < 10 ? std::round(seconds * 10) / 10 : std::round(seconds), 1, "s");
  if (a < 3600) return Scaled(seconds, 60, "min");
  if (a < 86400) return Scaled(seconds, 3600, "h");
  return Scaled(seconds, 86400, "d");
}

}  // namespace pgdr::core

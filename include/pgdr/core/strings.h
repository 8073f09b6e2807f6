// String helpers every module used to carry its own copy of. Whitespace is
// ASCII only (space, \t, \n, \r, \f, \v): the texts trimmed are config,
// protocol and libpq messages, never locale-dependent prose.
#pragma once

#include <string>
#include <string_view>

namespace pgdr::core {

// `s` without whitespace at either end.
std::string_view Trim(std::string_view s);

// `s` without trailing whitespace (a password file's newline; leading spaces
// may be part of the value).
std::string_view TrimRight(std::string_view s);

// Percent-encoding (RFC 3986): the unreserved characters A-Z a-z 0-9 - _ . ~
// are kept, every other byte becomes %XX (upper-case hex).
enum class Escape {
  kComponent,  // everything else encoded (SigV4 canonical query, one path segment)
  kPath,       // '/' kept too (an object key as a URL path)
  kQuery,      // ' ' as '+' (Go's url.QueryEscape, form encoding)
};
std::string PercentEncode(std::string_view text, Escape mode);

// `s` in double quotes, with `"` `\\` and the newline, tab and carriage
// return escaped as in C, and every other control byte (and DEL) as \xXX in
// Go's strconv.Quote style (label values, log lines, PromQL strings) or as
// \u00XX in JSON. Bytes >= 0x80 pass unchanged: UTF-8 stays readable.
enum class QuoteStyle { kGo, kJson };
void AppendQuoted(std::string& out, std::string_view s, QuoteStyle style);
std::string Quoted(std::string_view s, QuoteStyle style = QuoteStyle::kGo);

// The parts joined with `sep` between them; any range of string-like parts.
template <typename Range>
std::string Join(const Range& parts, std::string_view sep) {
  std::string out;
  bool first = true;
  for (const auto& part : parts) {
    if (!first) out += sep;
    out += std::string_view(part);
    first = false;
  }
  return out;
}

// Figures for people (the status page, decision summaries): "0 B", "812 B",
// "1.5 KiB", "16 MiB" (binary units, at most one decimal); "0 s", "45 s",
// "12 min", "3.5 h", "2.1 d". Negative values keep their sign.
std::string HumanBytes(double bytes);
std::string HumanSeconds(double seconds);

}  // namespace pgdr::core

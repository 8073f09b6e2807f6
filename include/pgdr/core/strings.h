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

}  // namespace pgdr::core

#include "pgdr/core/strings.h"

namespace pgdr::core {
namespace {

constexpr std::string_view kWhitespace = " \t\n\r\f\v";

}  // namespace

std::string_view Trim(std::string_view s) {
  const size_t begin = s.find_first_not_of(kWhitespace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kWhitespace) - begin + 1);
}

std::string_view TrimRight(std::string_view s) {
  const size_t end = s.find_last_not_of(kWhitespace);
  return end == std::string_view::npos ? std::string_view() : s.substr(0, end + 1);
}

}  // namespace pgdr::core

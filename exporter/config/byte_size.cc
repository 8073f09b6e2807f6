#include "pgdr/config/byte_size.h"

#include <charconv>
#include <optional>
#include <string>

namespace pgdr::config {
namespace {

std::optional<double> ByteUnit(std::string_view unit) {
  if (unit.empty() || unit == "B") return 1.0;
  if (unit == "kB" || unit == "KB") return 1024.0;
  if (unit == "MB") return 1024.0 * 1024;
  if (unit == "GB") return 1024.0 * 1024 * 1024;
  if (unit == "TB") return 1024.0 * 1024 * 1024 * 1024;
  return std::nullopt;
}

}  // namespace

core::Result<double> ParseByteSize(std::string_view text) {
  double number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec == std::errc() && number >= 0) {
    if (const auto unit = ByteUnit(text.substr(end - text.data()))) return number * *unit;
  }
  return core::Status::InvalidArgument(
      "want a byte size (\"16MB\", \"512kB\", \"1048576\"), got \"" + std::string(text) + "\"");
}

}  // namespace pgdr::config

#include "pgdr/core/time_format.h"

#include <cstdio>
#include <ctime>

namespace pgdr::core {

std::string FormatRfc3339(int64_t unix_ms, Fraction fraction) {
  // Floor division: a time before 1970 keeps a positive fraction.
  int64_t secs = unix_ms / 1000;
  int64_t ms = unix_ms % 1000;
  if (ms < 0) {
    ms += 1000;
    --secs;
  }
  const auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  std::string out = buf;
  if (fraction == Fraction::kMilliseconds || (fraction == Fraction::kShortest && ms != 0)) {
    std::snprintf(buf, sizeof buf, ".%03d", static_cast<int>(ms));
    std::string digits = buf;
    while (fraction == Fraction::kShortest && digits.back() == '0') digits.pop_back();
    out += digits;
  }
  return out + "Z";
}

std::string FormatRfc3339(std::chrono::system_clock::time_point t, Fraction fraction) {
  return FormatRfc3339(
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count(),
      fraction);
}

std::string FormatUtcNow(const char* strftime_format) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof buf, strftime_format, &tm);
  return std::string(buf, n);
}

}  // namespace pgdr::core

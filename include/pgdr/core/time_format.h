// RFC 3339 timestamps in UTC, the one format the JSON APIs, notifications
// and status pages write; the variants differ only in the fraction.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace pgdr::core {

enum class Fraction {
  kNone,          // "2026-11-23T20:00:00Z"
  kMilliseconds,  // "2026-11-23T20:00:00.500Z" (Alertmanager's API)
  kShortest,      // "2026-11-23T20:00:00.5Z", none when whole (Go's RFC3339Nano)
};

std::string FormatRfc3339(int64_t unix_ms, Fraction fraction);
std::string FormatRfc3339(std::chrono::system_clock::time_point t, Fraction fraction);

// The current time in UTC through a strftime(3) format, for the protocols
// that want their own: SigV4's "%Y%m%dT%H%M%SZ", HTTP's RFC 1123 date.
std::string FormatUtcNow(const char* strftime_format);

}  // namespace pgdr::core

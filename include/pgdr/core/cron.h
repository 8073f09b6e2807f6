// Cron schedules: the five-field expressions of crontab(5), for what runs on
// a calendar rather than every N seconds (restore drills: "every Sunday at
// 03:00", "weekdays at 02:30").
//
// Why our own: a handful of lines, no dependency, and the exact semantics
// people expect from Vixie cron: minute hour day-of-month month day-of-week;
// each field `*`, a number, a range `a-b`, a step `*/n` or `a-b/n` or `a/n`
// (from a to the field's end), or a comma list of those; month and weekday
// names (jan..dec, sun..sat); 0 and 7 both Sunday; @hourly, @daily
// (@midnight), @weekly, @monthly, @yearly (@annually). When both day fields
// are restricted (neither starts with `*`) a day matches when EITHER does;
// otherwise both must. Times are UTC.
//
// Thread-safety: an immutable value once parsed.
#pragma once

#include <bitset>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "pgdr/core/status.h"

namespace pgdr::core {

class CronSchedule {
 public:
  using TimePoint = std::chrono::system_clock::time_point;

  // Errors name the field and the offending text; an expression that can
  // never match (30 February) is an error too.
  static Result<CronSchedule> Parse(std::string_view text);

  // The first whole minute strictly after `after` that matches (searched up
  // to eight years ahead, which Parse() proved finds one).
  std::optional<TimePoint> Next(TimePoint after) const;

  const std::string& text() const { return text_; }

 private:
  bool DayMatches(int mday, int wday) const;

  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> mdays_;   // 1..31
  std::bitset<13> months_;  // 1..12
  std::bitset<7> wdays_;    // 0..6, Sunday 0
  bool mday_star_ = false, wday_star_ = false;
};

}  // namespace pgdr::core

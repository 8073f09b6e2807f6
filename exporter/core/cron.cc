// Parsing crontab(5) expressions and finding their next matching minute.
#include "pgdr/core/cron.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <vector>

namespace pgdr::core {
namespace {

struct Field {
  const char* name;
  int min, max;
  const char* const* names;  // names[i] stands for min + i; null: numbers only
};

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",  "jul",
                                       "aug", "sep", "oct", "nov", "dec", nullptr};
constexpr const char* kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", nullptr};

constexpr std::array<Field, 5> kFields = {{{"minute", 0, 59, nullptr},
                                           {"hour", 0, 23, nullptr},
                                           {"day of month", 1, 31, nullptr},
                                           {"month", 1, 12, kMonthNames},
                                           {"day of week", 0, 7, kDayNames}}};

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == sep) {
      out.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

// A number or (for months and weekdays) a three-letter name.
std::optional<int> Value(const Field& f, std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(text[0]))) {
    int v = 0;
    for (char c : text) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || v > 1000) return std::nullopt;
      v = v * 10 + (c - '0');
    }
    return v >= f.min && v <= f.max ? std::optional<int>(v) : std::nullopt;
  }
  if (f.names == nullptr || text.size() != 3) return std::nullopt;
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (int i = 0; f.names[i] != nullptr; ++i) {
    if (lower == f.names[i]) return f.min + i;
  }
  return std::nullopt;
}

// Sets bits [value - f.min] for every value the field text names.
Status ParseField(const Field& f, std::string_view text, std::vector<bool>& bits) {
  bits.assign(static_cast<size_t>(f.max - f.min + 1), false);
  auto bad = [&](std::string_view item, const std::string& why) {
    return Status::InvalidArgument("cron " + std::string(f.name) + " field \"" + std::string(item) +
                                   "\": " + why);
  };
  for (std::string_view item : Split(text, ',')) {
    std::vector<std::string_view> step_parts = Split(item, '/');
    if (step_parts.size() > 2) return bad(item, "more than one '/'");
    int step = 1;
    if (step_parts.size() == 2) {
      std::optional<int> s = Value({f.name, 1, f.max - f.min + 1, nullptr}, step_parts[1]);
      if (!s)
        return bad(item,
                   "the step must be a number from 1 to " + std::to_string(f.max - f.min + 1));
      step = *s;
    }
    std::string_view range = step_parts[0];
    int first = f.min, last = f.max;
    if (range != "*") {
      std::vector<std::string_view> ends = Split(range, '-');
      if (ends.size() > 2) return bad(item, "more than one '-'");
      std::optional<int> a = Value(f, ends[0]);
      std::optional<int> b = ends.size() == 2 ? Value(f, ends[1]) : a;
      if (!a || !b) {
        return bad(item, "values run from " + std::to_string(f.min) + " to " +
                             std::to_string(f.max) + (f.names ? " (or names)" : ""));
      }
      if (*b < *a) return bad(item, "the range ends before it starts");
      first = *a;
      // "a/n" runs from a to the field's end, as in Vixie cron.
      last = ends.size() == 1 && step_parts.size() == 2 ? f.max : *b;
    }
    for (int v = first; v <= last; v += step) bits[static_cast<size_t>(v - f.min)] = true;
  }
  return Status::OK();
}

std::string_view Macro(std::string_view text) {
  static constexpr std::pair<const char*, const char*> kMacros[] = {
      {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"}};
  for (const auto& [name, expansion] : kMacros) {
    if (text == name) return expansion;
  }
  return text;
}

}  // namespace

Result<CronSchedule> CronSchedule::Parse(std::string_view text) {
  CronSchedule c;
  c.text_ = std::string(text);
  std::vector<std::string_view> fields;
  std::string_view expanded = Macro(text);
  size_t i = 0;
  while (i < expanded.size()) {
    while (i < expanded.size() && std::isspace(static_cast<unsigned char>(expanded[i]))) ++i;
    size_t start = i;
    while (i < expanded.size() && !std::isspace(static_cast<unsigned char>(expanded[i]))) ++i;
    if (i > start) fields.push_back(expanded.substr(start, i - start));
  }
  if (fields.size() != 5) {
    return Status::InvalidArgument("cron expression \"" + c.text_ + "\" has " +
                                   std::to_string(fields.size()) +
                                   " fields; it needs 5: minute hour day-of-month month "
                                   "day-of-week (or @hourly, @daily, @weekly, ...)");
  }
  std::array<std::vector<bool>, 5> bits;
  for (size_t f = 0; f < 5; ++f) {
    if (Status s = ParseField(kFields[f], fields[f], bits[f]); !s.ok()) return s;
  }
  for (size_t v = 0; v < 60; ++v) c.minutes_[v] = bits[0][v];
  for (size_t v = 0; v < 24; ++v) c.hours_[v] = bits[1][v];
  for (size_t v = 0; v < 31; ++v) c.mdays_[v + 1] = bits[2][v];
  for (size_t v = 0; v < 12; ++v) c.months_[v + 1] = bits[3][v];
  for (size_t v = 0; v < 8; ++v) {
    if (bits[4][v]) c.wdays_[v % 7] = true;  // 7 is Sunday too
  }
  c.mday_star_ = fields[2].front() == '*';
  c.wday_star_ = fields[4].front() == '*';
  // Eight years from a leap year cover every month/day/weekday combination.
  const TimePoint y2000 = std::chrono::system_clock::from_time_t(946684800);
  if (!c.Next(y2000)) {
    return Status::InvalidArgument("cron expression \"" + c.text_ + "\" never matches a date");
  }
  return c;
}

bool CronSchedule::DayMatches(int mday, int wday) const {
  const bool by_mday = mdays_[static_cast<size_t>(mday)];
  const bool by_wday = wdays_[static_cast<size_t>(wday)];
  if (mday_star_ || wday_star_) return by_mday && by_wday;
  return by_mday || by_wday;  // both restricted: either one (crontab(5))
}

std::optional<CronSchedule::TimePoint> CronSchedule::Next(TimePoint after) const {
  std::time_t t = std::chrono::system_clock::to_time_t(after);
  if (std::chrono::system_clock::from_time_t(t) > after) --t;  // to_time_t may round up
  t = t - t % 60 + 60;                                         // the next whole minute
  std::tm tm{};
  gmtime_r(&t, &tm);
  // Day by day; within a matching day, the first matching hour and minute.
  for (int day = 0; day <= 366 * 8 + 1; ++day) {
    if (months_[static_cast<size_t>(tm.tm_mon + 1)] && DayMatches(tm.tm_mday, tm.tm_wday)) {
      for (int h = tm.tm_hour; h < 24; ++h) {
        if (!hours_[static_cast<size_t>(h)]) continue;
        for (int m = h == tm.tm_hour ? tm.tm_min : 0; m < 60; ++m) {
          if (!minutes_[static_cast<size_t>(m)]) continue;
          std::tm at = tm;
          at.tm_hour = h;
          at.tm_min = m;
          at.tm_sec = 0;
          return std::chrono::system_clock::from_time_t(timegm(&at));
        }
      }
    }
    tm.tm_mday += 1;
    tm.tm_hour = 0;
    tm.tm_min = 0;
    tm.tm_sec = 0;
    std::time_t next_day = timegm(&tm);  // normalises the date
    gmtime_r(&next_day, &tm);
  }
  return std::nullopt;
}

}  // namespace pgdr::core

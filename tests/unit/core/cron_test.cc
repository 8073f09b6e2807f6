#include "pgdr/core/cron.h"

#include <gtest/gtest.h>

#include <ctime>

namespace pgdr::core {
namespace {

using TimePoint = CronSchedule::TimePoint;

// "2026-12-03 07:02" (UTC) as a time point, and back.
TimePoint At(int y, int mon, int d, int h, int m, int s = 0) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = s;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string Show(std::optional<TimePoint> t) {
  if (!t) return "never";
  std::time_t tt = std::chrono::system_clock::to_time_t(*t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M %a", &tm);
  return buf;
}

std::string Next(const char* expr, TimePoint after) {
  Result<CronSchedule> c = CronSchedule::Parse(expr);
  if (!c.ok()) return "error: " + c.status().message();
  return Show(c->Next(after));
}

// 2026-12-03 is a Thursday.
const TimePoint kNow = At(2026, 12, 3, 7, 2, 30);

TEST(Cron, EveryMinuteIsStrictlyAfter) {
  EXPECT_EQ(Next("* * * * *", kNow), "2026-12-03 07:03 Thu");
  EXPECT_EQ(Next("* * * * *", At(2026, 12, 3, 7, 2)), "2026-12-03 07:03 Thu");
  EXPECT_EQ(Next("* * * * *", At(2026, 12, 31, 23, 59, 59)), "2027-01-01 00:00 Fri");
}

TEST(Cron, FixedTimes) {
  EXPECT_EQ(Next("30 2 * * *", kNow), "2026-12-04 02:30 Fri");
  EXPECT_EQ(Next("0 8 * * *", kNow), "2026-12-03 08:00 Thu");
  EXPECT_EQ(Next("0 0 1 1 *", kNow), "2027-01-01 00:00 Fri");
  EXPECT_EQ(Next("@daily", kNow), "2026-12-04 00:00 Fri");
  EXPECT_EQ(Next("@hourly", kNow), "2026-12-03 08:00 Thu");
  EXPECT_EQ(Next("@weekly", kNow), "2026-12-06 00:00 Sun");
  EXPECT_EQ(Next("@monthly", kNow), "2027-01-01 00:00 Fri");
  EXPECT_EQ(Next("@yearly", kNow), "2027-01-01 00:00 Fri");
}

TEST(Cron, RangesStepsLists) {
  EXPECT_EQ(Next("*/15 * * * *", kNow), "2026-12-03 07:15 Thu");
  EXPECT_EQ(Next("5-10/2 * * * *", kNow), "2026-12-03 07:05 Thu");
  EXPECT_EQ(Next("5-10/2 * * * *", At(2026, 12, 3, 7, 9)), "2026-12-03 08:05 Thu");
  EXPECT_EQ(Next("50/5 * * * *", kNow), "2026-12-03 07:50 Thu");  // 50,55
  EXPECT_EQ(Next("50/5 * * * *", At(2026, 12, 3, 7, 55)), "2026-12-03 08:50 Thu");
  EXPECT_EQ(Next("0 1,13,22 * * *", At(2026, 12, 3, 13, 0)), "2026-12-03 22:00 Thu");
  EXPECT_EQ(Next("0 9-17 * * mon-fri", At(2026, 12, 4, 17, 0)), "2026-12-07 09:00 Mon");
  EXPECT_EQ(Next("0 0 * JUN,Dec *", kNow), "2026-12-04 00:00 Fri");
  EXPECT_EQ(Next("0 0 * jun *", kNow), "2027-06-01 00:00 Tue");
}

TEST(Cron, SundayIsZeroAndSeven) {
  EXPECT_EQ(Next("0 3 * * 0", kNow), "2026-12-06 03:00 Sun");
  EXPECT_EQ(Next("0 3 * * 7", kNow), "2026-12-06 03:00 Sun");
  EXPECT_EQ(Next("0 3 * * 5-7", kNow), "2026-12-04 03:00 Fri");
}

TEST(Cron, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // The 15th or any Monday: Monday 7 December comes first.
  EXPECT_EQ(Next("0 0 15 * 1", kNow), "2026-12-07 00:00 Mon");
  EXPECT_EQ(Next("0 0 15 * 1", At(2026, 12, 14, 1, 0)), "2026-12-15 00:00 Tue");
  // One field '*': only the other restricts.
  EXPECT_EQ(Next("0 0 15 * *", kNow), "2026-12-15 00:00 Tue");
  EXPECT_EQ(Next("0 0 * * 1", kNow), "2026-12-07 00:00 Mon");
  // A field starting with '*' counts as unrestricted (Vixie cron): odd days AND Sunday.
  EXPECT_EQ(Next("0 0 */2 * 0", kNow), "2026-12-13 00:00 Sun");
}

TEST(Cron, MonthEndsAndLeapDays) {
  EXPECT_EQ(Next("0 0 31 * *", At(2027, 1, 31, 1, 0)), "2027-03-31 00:00 Wed");
  EXPECT_EQ(Next("0 0 29 2 *", kNow), "2028-02-29 00:00 Tue");
  EXPECT_EQ(Next("0 0 29 2 *", At(2097, 3, 1, 0, 0)), "2104-02-29 00:00 Fri");  // 2100 is not leap
}

TEST(Cron, Errors) {
  EXPECT_EQ(Next("* * * *", kNow),
            "error: cron expression \"* * * *\" has 4 fields; it needs 5: minute hour "
            "day-of-month month day-of-week (or @hourly, @daily, @weekly, ...)");
  EXPECT_EQ(Next("60 * * * *", kNow), "error: cron minute field \"60\": values run from 0 to 59");
  EXPECT_EQ(Next("* * 0 * *", kNow),
            "error: cron day of month field \"0\": values run from 1 to 31");
  EXPECT_EQ(Next("* * * 13 *", kNow),
            "error: cron month field \"13\": values run from 1 to 12 (or names)");
  EXPECT_EQ(Next("* * * * 8", kNow),
            "error: cron day of week field \"8\": values run from 0 to 7 (or names)");
  EXPECT_EQ(Next("10-5 * * * *", kNow),
            "error: cron minute field \"10-5\": the range ends before it starts");
  EXPECT_EQ(Next("*/0 * * * *", kNow),
            "error: cron minute field \"*/0\": the step must be a number from 1 to 60");
  EXPECT_EQ(Next("1,,2 * * * *", kNow), "error: cron minute field \"\": values run from 0 to 59");
  EXPECT_EQ(Next("* * * * funday", kNow),
            "error: cron day of week field \"funday\": values run from 0 to 7 (or names)");
  EXPECT_EQ(Next("0 0 30 2 *", kNow), "error: cron expression \"0 0 30 2 *\" never matches a date");
  EXPECT_EQ(Next("@often", kNow),
            "error: cron expression \"@often\" has 1 fields; it needs 5: minute hour "
            "day-of-month month day-of-week (or @hourly, @daily, @weekly, ...)");
}

}  // namespace
}  // namespace pgdr::core

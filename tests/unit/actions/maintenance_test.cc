// Cron schedules, maintenance windows and the /api/v1/maintenance handlers.
#include "pgdr/actions/maintenance.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace pgdr::actions {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

// 2026-11-22 is a Sunday.
TimePoint Utc(int day, int hour, int minute) {
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 10;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  return Clock::from_time_t(timegm(&tm));
}

TEST(Cron, FieldsRangesStepsNames) {
  auto c = CronSchedule::Parse("0 2 * * SUN");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->FiresAt(Utc(22, 2, 0)));
  EXPECT_FALSE(c->FiresAt(Utc(22, 2, 1)));
  EXPECT_FALSE(c->FiresAt(Utc(23, 2, 0)));
  auto steps = CronSchedule::Parse("*/15 8-10 * NOV mon-fri");
  ASSERT_TRUE(steps.ok());
  EXPECT_TRUE(steps->FiresAt(Utc(23, 9, 45)));
  EXPECT_FALSE(steps->FiresAt(Utc(23, 9, 50)));
  EXPECT_FALSE(steps->FiresAt(Utc(22, 9, 45)));  // Sunday
  auto seven = CronSchedule::Parse("30 1 * * 7");
  ASSERT_TRUE(seven.ok());
  EXPECT_TRUE(seven->FiresAt(Utc(22, 1, 30)));
  // Both day fields restricted: either matches, as in cron.
  auto either = CronSchedule::Parse("0 0 1 * MON");
  ASSERT_TRUE(either.ok());
  EXPECT_TRUE(either->FiresAt(Utc(23, 0, 0)));
  EXPECT_TRUE(either->FiresAt(Utc(1, 0, 0)));
  EXPECT_FALSE(either->FiresAt(Utc(24, 0, 0)));
  EXPECT_EQ(c->NextFiring(Utc(22, 3, 0)), Utc(29, 2, 0));
}

TEST(Cron, Errors) {
  EXPECT_FALSE(CronSchedule::Parse("0 2 * *").ok());
  EXPECT_FALSE(CronSchedule::Parse("60 2 * * *").ok());
  EXPECT_FALSE(CronSchedule::Parse("0 2 * * FUNDAY").ok());
  EXPECT_FALSE(CronSchedule::Parse("5-1 * * * *").ok());
  EXPECT_FALSE(CronSchedule::Parse("*/0 * * * *").ok());
}

TEST(Maintenance, CronWindowCoversItsDuration) {
  MaintenanceWindows w({{"prod", *CronSchedule::Parse("0 2 * * SUN"), hours(2), "weekly"}},
                       {"prod", "test"});
  std::string why;
  EXPECT_FALSE(w.Active("prod", Utc(22, 1, 59)));
  EXPECT_TRUE(w.Active("prod", Utc(22, 2, 0), &why));
  EXPECT_NE(why.find("0 2 * * SUN"), std::string::npos);
  EXPECT_TRUE(w.Active("prod", Utc(22, 3, 59)));
  EXPECT_FALSE(w.Active("prod", Utc(22, 4, 0)));
  EXPECT_FALSE(w.Active("test", Utc(22, 2, 30)));
  core::MetricSet m;
  w.CollectMetrics(m, Utc(22, 2, 30));
  const auto& fam = m.families().at("pgdr_maintenance_active");
  ASSERT_EQ(fam.metric.size(), 2u);
  EXPECT_EQ(fam.metric[0].gauge.value, 1);  // prod
  EXPECT_EQ(fam.metric[1].gauge.value, 0);  // test
}

TEST(Maintenance, ManualWindowsOpenCloseAndExpire) {
  MaintenanceWindows w({}, {"prod", "test"});
  const TimePoint now = Utc(23, 12, 0);
  ASSERT_TRUE(w.Open("prod", minutes(30), "upgrade", now).ok());
  EXPECT_TRUE(w.Active("prod", now + minutes(29)));
  EXPECT_FALSE(w.Active("prod", now + minutes(30)));
  EXPECT_FALSE(w.Active("test", now));
  EXPECT_EQ(w.Open("nope", minutes(5), "", now).code(), core::Status::Code::kNotFound);
  EXPECT_TRUE(w.Close("prod").ok());
  EXPECT_FALSE(w.Active("prod", now));
  EXPECT_EQ(w.Close("prod").code(), core::Status::Code::kNotFound);
  ASSERT_TRUE(w.Open("*", minutes(5), "all", now).ok());
  EXPECT_TRUE(w.Active("test", now));
}

TEST(Maintenance, HttpHandlers) {
  MaintenanceWindows w({}, {"prod"});
  const TimePoint now = Utc(23, 12, 0);
  http::HttpRequest req{
      "POST", "/api/v1/maintenance", "",
      R"({"action":"open","cluster":"prod","duration":"45m","reason":"patching"})"};
  auto r = w.HandlePost(req, now);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["data"]["clusters"][0]["active"], true);
  EXPECT_EQ(j["data"]["windows"][0]["kind"], "manual");
  EXPECT_EQ(j["data"]["windows"][0]["reason"], "patching");
  EXPECT_TRUE(w.Active("prod", now + minutes(44)));

  req.body = R"({"action":"close","cluster":"prod"})";
  EXPECT_EQ(w.HandlePost(req, now).status, 200);
  EXPECT_FALSE(w.Active("prod", now));
  EXPECT_EQ(w.HandlePost(req, now).status, 404);
  req.body = R"({"action":"open","cluster":"prod","duration":"soon"})";
  EXPECT_EQ(w.HandlePost(req, now).status, 400);
  req.body = R"({"action":"open","cluster":"prod","extra":"x"})";
  EXPECT_EQ(w.HandlePost(req, now).status, 400);
  req.body = "not json";
  EXPECT_EQ(w.HandlePost(req, now).status, 400);
  EXPECT_EQ(nlohmann::json::parse(w.HandleGet(now).body)["status"], "success");
}

}  // namespace
}  // namespace pgdr::actions

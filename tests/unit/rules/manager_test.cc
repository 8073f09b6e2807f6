#include "pgdr/rules/manager.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "pgdr/rules/rule_file.h"

namespace pgdr::rules {
namespace {

class ManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("pgdr_rules_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  void Up(int64_t t, double v) {
    db_.Append(tsdb::MakeLabels({{"__name__", "pgdr_up"}, {"member", "pg-1"}}), t, v);
  }

  std::filesystem::path dir_;
  tsdb::Tsdb db_;
};

constexpr char kRules[] = R"yaml(groups:
  - name: availability
    interval: 10s
    rules:
      - record: member:up:sum
        expr: sum(pgdr_up)
      - alert: MemberDown
        expr: pgdr_up == 0
        for: 20s
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.member }} is down ({{ $value }})"
)yaml";

TEST_F(ManagerTest, AlertGoesPendingFiringResolved) {
  RuleManager m(&db_, {});
  ASSERT_TRUE(m.Load({Write("r.yml", kRules)}).ok());
  const int64_t base = 1'000'000'000'000;
  for (int64_t t = base; t <= base + 30'000; t += 10'000) {
    Up(t, 0);
    m.Tick(t);
    auto alerts = m.Alerts();
    ASSERT_EQ(alerts.size(), 1u);
    EXPECT_EQ(alerts[0].alert.state,
              t - base >= 20'000 ? AlertState::kFiring : AlertState::kPending)
        << (t - base);
  }
  auto json = m.AlertsJson();
  ASSERT_EQ(json["data"]["alerts"].size(), 1u);
  EXPECT_EQ(json["data"]["alerts"][0]["state"], "firing");
  EXPECT_EQ(json["data"]["alerts"][0]["annotations"]["summary"], "pg-1 is down (0)");
  EXPECT_EQ(json["data"]["alerts"][0]["labels"]["severity"], "page");
  EXPECT_EQ(json["data"]["alerts"][0]["value"], "0e+00");

  Up(base + 40'000, 1);
  m.Tick(base + 40'000);
  auto alerts = m.Alerts();
  ASSERT_EQ(alerts.size(), 1u) << "resolved alerts are kept for notifiers";
  EXPECT_EQ(alerts[0].alert.state, AlertState::kInactive);
  EXPECT_EQ(alerts[0].alert.resolved_at_ms, base + 40'000);
  EXPECT_TRUE(m.AlertsJson()["data"]["alerts"].empty());

  // The recording rule wrote back into the TSDB.
  auto recorded =
      db_.Select({*tsdb::Matcher::Make(tsdb::MatchType::kEqual, "__name__", "member:up:sum")}, 0,
                 base + 40'000);
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].samples.back().v, 1);

  auto rules = m.RulesJson();
  const auto& group = rules["data"]["groups"][0];
  EXPECT_EQ(group["name"], "availability");
  EXPECT_EQ(group["interval"], 10);
  EXPECT_EQ(group["rules"][0]["type"], "recording");
  EXPECT_EQ(group["rules"][0]["query"], "sum(pgdr_up)");
  EXPECT_EQ(group["rules"][1]["type"], "alerting");
  EXPECT_EQ(group["rules"][1]["duration"], 20);
  EXPECT_EQ(group["rules"][1]["health"], "ok");
  EXPECT_EQ(group["rules"][1]["state"], "inactive");
  EXPECT_EQ(m.RulesJson("alert")["data"]["groups"][0]["rules"].size(), 1u);
  EXPECT_EQ(m.RulesJson("record")["data"]["groups"][0]["rules"][0]["type"], "recording");
}

TEST_F(ManagerTest, BadReloadKeepsOldRulesAndState) {
  RuleManager m(&db_, {});
  std::string path = Write("r.yml", kRules);
  ASSERT_TRUE(m.Load({path}).ok());
  const int64_t base = 1'000'000'000'000;
  Up(base, 0);
  m.Tick(base);
  ASSERT_EQ(m.Alerts().size(), 1u);

  Write("r.yml", "groups:\n  - name: g\n    rules:\n      - record: x\n        expr: 'sum(('\n");
  core::Status st = m.Load({path});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(
      st.message().find("r.yml: 5:15: group \"g\", rule 1, \"x\": could not parse expression"),
      std::string::npos)
      << st.message();
  EXPECT_EQ(m.group_count(), 1u);
  EXPECT_EQ(m.Alerts().size(), 1u);

  // A valid reload keeps the alert's state (same group, name and expression).
  ASSERT_TRUE(m.Load({Write("r.yml", kRules)}).ok());
  ASSERT_EQ(m.Alerts().size(), 1u);
  EXPECT_EQ(m.Alerts()[0].alert.active_at_ms, base);
}

// Replace() installs groups parsed elsewhere (the exporter's LoadAndValidate)
// without reading the files again, and keeps alert state like Load().
TEST_F(ManagerTest, ReplaceInstallsParsedGroupsKeepingState) {
  RuleManager m(&db_, {});
  const std::string path = Write("r.yml", kRules);
  auto parsed = LoadRuleFile(path);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  m.Replace(*parsed);
  const int64_t base = 1'000'000'000'000;
  Up(base, 0);
  m.Tick(base);
  ASSERT_EQ(m.Alerts().size(), 1u);
  std::filesystem::remove(path);  // not read again
  m.Replace(*parsed);
  EXPECT_EQ(m.group_count(), 1u);
  ASSERT_EQ(m.Alerts().size(), 1u);
  EXPECT_EQ(m.Alerts()[0].alert.active_at_ms, base);
  m.Replace({});
  EXPECT_EQ(m.group_count(), 0u);
}

TEST_F(ManagerTest, MetricsAndFailures) {
  RuleManager m(&db_, {});
  ASSERT_TRUE(m.Load({Write("r.yml", R"(groups:
  - name: broken
    rules:
      - record: x
        expr: a + on(k) b
)")})
                  .ok());
  db_.Append(tsdb::MakeLabels({{"__name__", "a"}, {"k", "1"}}), 60'000, 1);
  db_.Append(tsdb::MakeLabels({{"__name__", "b"}, {"k", "1"}, {"z", "1"}}), 60'000, 1);
  db_.Append(tsdb::MakeLabels({{"__name__", "b"}, {"k", "1"}, {"z", "2"}}), 60'000, 1);
  m.Tick(60'000);
  core::MetricSet set;
  m.CollectMetrics(set);
  const auto& f = set.families();
  ASSERT_TRUE(f.contains("pgdr_rule_evaluation_failures_total"));
  EXPECT_EQ(f.at("pgdr_rule_evaluation_failures_total").metric[0].counter.value, 1);
  EXPECT_TRUE(f.contains("pgdr_rule_group_last_duration_seconds"));
  EXPECT_EQ(f.at("pgdr_tsdb_series").metric[0].gauge.value, 3);
  EXPECT_EQ(m.RulesJson()["data"]["groups"][0]["rules"][0]["health"], "err");
}

}  // namespace
}  // namespace pgdr::rules

namespace pgdr::rules {
namespace {

// Templates' `query` reads the live TSDB at the rule's evaluation time, and
// externalURL / pathPrefix see the manager's external URL.
TEST_F(ManagerTest, TemplateQueryReadsTheTsdbAtEvaluationTime) {
  constexpr char kQueryRules[] = R"yaml(groups:
  - name: q
    interval: 10s
    rules:
      - alert: Lagging
        expr: pgdr_up == 0
        annotations:
          others: '{{ range query "pgdr_up == 1" | sortByLabel "member" }}{{ .Labels.member }}={{ .Value }} {{ end }}'
          count: '{{ query "count(pgdr_up)" | first | value }}'
          url: '{{ externalURL }} {{ pathPrefix }}'
)yaml";
  ManagerOptions opts;
  opts.external_url = "http://pgdr.example:9187/dr";
  RuleManager m(&db_, opts);
  ASSERT_TRUE(m.Load({Write("q.yml", kQueryRules)}).ok());
  const int64_t base = 1'000'000'000'000;
  Up(base, 0);
  db_.Append(tsdb::MakeLabels({{"__name__", "pgdr_up"}, {"member", "pg-3"}}), base, 1);
  db_.Append(tsdb::MakeLabels({{"__name__", "pgdr_up"}, {"member", "pg-2"}}), base, 1);
  // A later sample the evaluation at `base` must not see.
  db_.Append(tsdb::MakeLabels({{"__name__", "pgdr_up"}, {"member", "pg-2"}}), base + 5'000, 0);
  m.Tick(base);
  auto json = m.AlertsJson();
  ASSERT_EQ(json["data"]["alerts"].size(), 1u) << json.dump();
  const auto& a = json["data"]["alerts"][0]["annotations"];
  EXPECT_EQ(a["others"], "pg-2=1 pg-3=1 ");
  EXPECT_EQ(a["count"], "3");
  EXPECT_EQ(a["url"], "http://pgdr.example:9187/dr /dr");
}

}  // namespace
}  // namespace pgdr::rules

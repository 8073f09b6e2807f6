// The DR verdict and the console page on synthetic snapshots: the answers'
// levels and figures, PgBouncers apart from members, alerts' runbook links,
// decisions and the sparklines read from a TSDB.
#include "app/status_page.h"

#include <gtest/gtest.h>

#include "app/verdict.h"

namespace pgdr::app {
namespace {

using std::chrono::seconds;
const auto kNow = std::chrono::system_clock::from_time_t(1'800'000'000);
const double kNowS = 1'800'000'000;

std::shared_ptr<collect::TargetResult> Member(const std::string& name, const std::string& region,
                                              bool up, std::optional<bool> in_recovery,
                                              std::optional<bool> streaming) {
  auto t = std::make_shared<collect::TargetResult>();
  t->key = "prod/" + name;
  t->cluster = "prod";
  t->member = name;
  t->region = region;
  t->facts.up = up;
  t->facts.in_recovery = in_recovery;
  t->facts.wal_receiver_streaming = streaming;
  return t;
}

// p1 primary in eu, p2 streaming in us, p3 down, a PgBouncer; RPO replica 4 KiB.
std::shared_ptr<collect::Snapshot> Healthy(bool primary_up = true) {
  auto s = std::make_shared<collect::Snapshot>();
  s->composed_at = kNow;
  s->targets.push_back(
      Member("p1", "eu", primary_up, primary_up ? std::optional(false) : std::nullopt, {}));
  s->targets.push_back(Member("p2", "us", true, true, true));
  s->targets.push_back(Member("p3", "eu", false, {}, {}));
  auto pooler = std::make_shared<collect::TargetResult>();
  pooler->key = "pooler/pb";
  pooler->cluster = "prod";
  pooler->member = "pb";
  pooler->facts.up = true;
  s->targets.push_back(pooler);
  core::MetricSet computed;
  computed.Gauge("pgdr_replication_lag_bytes", "", {{"cluster", "prod"}, {"member", "p2"}}, 4096);
  if (primary_up) {
    computed.Gauge("pgdr_rpo_bytes", "", {{"cluster", "prod"}, {"scope", "replica"}}, 4096);
    computed.Gauge("pgdr_rpo_seconds", "", {{"cluster", "prod"}, {"scope", "replica"}}, 2);
  }
  s->computed = computed.Take();
  return s;
}

std::shared_ptr<const StorePoll> Store(double backup_age_s, double gaps) {
  auto poll = std::make_shared<StorePoll>();
  poll->store = "s3";
  poll->position.cluster = "prod";
  poll->position.up = true;
  core::MetricSet m;
  m.Gauge("pgdr_backup_last_completed_timestamp_seconds", "",
          {{"cluster", "prod"}, {"store", "s3"}, {"type", "full"}}, kNowS - backup_age_s);
  m.Gauge("pgdr_wal_archive_gap_segments", "", {{"cluster", "prod"}, {"store", "s3"}}, gaps);
  poll->families = m.Take();
  return poll;
}

TEST(Verdict, HealthyClusterAnswersEveryQuestion) {
  const auto v = ClusterVerdicts(*Healthy(), {Store(3600, 0)}, kNow);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].primary, "p1");
  EXPECT_EQ(v[0].replicas_expected, 2);
  EXPECT_EQ(v[0].replicas_streaming, 1);
  EXPECT_EQ(v[0].node.level, Level::kWarn);  // one of two replicas streams
  EXPECT_EQ(v[0].node.text, "yes: 1 of 2 replicas stream, RPO replica 4 KiB");
  EXPECT_EQ(v[0].region.level, Level::kOk);
  EXPECT_EQ(v[0].region.text, "yes: p2 in us streams, 4 KiB behind");
  EXPECT_EQ(v[0].data.level, Level::kOk);
  EXPECT_EQ(v[0].data.text, "yes: newest base backup 1 h old, WAL chain without gaps");
  EXPECT_EQ(v[0].drill.text, "no drill configured");
  EXPECT_EQ(v[0].overall, Level::kWarn);
  ASSERT_EQ(v[0].poolers.size(), 1u);
  EXPECT_EQ(v[0].members.size(), 3u);  // the PgBouncer is not a member
  const auto json = VerdictJson(v[0]);
  EXPECT_EQ(json["rpo"]["replica"]["bytes"], 4096);
  EXPECT_EQ(json["newestBackupAgeSeconds"], 3600);
  EXPECT_EQ(json["verdict"], "warn");
}

TEST(Verdict, DeadPrimaryAndBrokenWalChainAreCritical) {
  const auto v = ClusterVerdicts(*Healthy(false), {Store(60, 3)}, kNow);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].node.level, Level::kCrit);
  EXPECT_EQ(v[0].node.text.rfind("no: no member answers as primary", 0), 0u) << v[0].node.text;
  EXPECT_EQ(v[0].data.level, Level::kCrit);
  EXPECT_NE(v[0].data.text.find("3 missing segments"), std::string::npos) << v[0].data.text;
  EXPECT_EQ(v[0].overall, Level::kCrit);
}

TEST(ConsolePage, ShowsPoolersApartAlertsWithRunbooksDecisionsAndSparklines) {
  tsdb::Tsdb history;
  const int64_t now_ms = static_cast<int64_t>(kNowS) * 1000;
  const auto labels = tsdb::MakeLabels(
      {{"__name__", "pgdr_replication_lag_bytes"}, {"cluster", "prod"}, {"member", "p2"}});
  for (int i = 0; i < 5; ++i) history.Append(labels, now_ms - 40'000 + i * 10'000, i * 1000.0);

  ConsoleInputs in;
  in.now = kNow;
  in.snapshot = Healthy(false);
  in.history = &history;
  rules::ManagedAlert alert;
  alert.rule = "PostgresPrimaryMissing";
  alert.alert.state = rules::AlertState::kFiring;
  alert.alert.labels =
      tsdb::MakeLabels({{"alertname", "PostgresPrimaryMissing"}, {"cluster", "prod"}});
  alert.alert.fired_at_ms = now_ms - 30'000;
  in.alerts.push_back(alert);
  actions::Decision d;
  d.at = kNow - seconds(5);
  d.cluster = "prod";
  d.action = "failover";
  d.result = "dry_run";
  d.summary = "would promote p2, 0 B behind";
  d.evidence = {{"candidate", "p2"}};
  in.decisions.push_back(d);
  const std::string page = ConsolePageHtml(in);

  EXPECT_NE(page.find("id=\"verdict-prod\">crit<"), std::string::npos);
  EXPECT_NE(page.find("<table class=\"poolers\"><tr><th>pooler</th><th>up</th><th>last error</th>"
                      "</tr><tr class=\"ok\"><td>pb</td>"),
            std::string::npos);
  EXPECT_EQ(page.find("data-member=\"pb\""), std::string::npos);
  // No runbook_url annotation: the runbook pgdr ships is linked.
  EXPECT_NE(page.find("<a class=\"runbook\" href=\"/runbooks/PostgresPrimaryMissing\">"),
            std::string::npos);
  EXPECT_NE(page.find("<td class=\"summary\">would promote p2, 0 B behind</td>"),
            std::string::npos);
  EXPECT_NE(page.find("<code>candidate=p2</code>"), std::string::npos);
  EXPECT_NE(page.find("<polyline"), std::string::npos);
  EXPECT_NE(page.find("max 3.9 KiB"), std::string::npos);
  EXPECT_NE(page.find("none exported"), std::string::npos);  // no RPO while the primary is down
  EXPECT_NE(page.find("location.reload()"), std::string::npos);
  in.auto_refresh = false;
  EXPECT_EQ(ConsolePageHtml(in).find("<script"), std::string::npos);

  const auto json = StatusJson(in);
  const auto& points = json["data"]["clusters"][0]["history"]
                           ["pgdr_replication_lag_bytes{cluster=\"prod\", member=\"p2\"}"];
  ASSERT_EQ(points.size(), 5u);
  EXPECT_EQ(points[4][1], 4000);
}

}  // namespace
}  // namespace pgdr::app

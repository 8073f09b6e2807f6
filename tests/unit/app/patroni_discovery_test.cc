// Targets and manager state from Patroni 3.0.2's GET /cluster (the body
// shape captured from the Debian package, as in patroni_metrics_test.cc).
#include "app/patroni_discovery.h"

#include <gtest/gtest.h>

namespace pgdr::app {
namespace {

constexpr char kCluster[] =
    R"({"members": [{"name": "pat-2", "role": "replica", "state": "running",)"
    R"( "api_url": "http://127.0.0.1:42753/patroni", "host": "127.0.0.1", "port": 45753,)"
    R"( "timeline": 1, "lag": 0}, {"name": "pat-1", "role": "leader", "state": "running",)"
    R"( "api_url": "http://127.0.0.1:47875/patroni", "host": "127.0.0.1", "port": 52277,)"
    R"( "timeline": 1}, {"name": "evil", "role": "replica", "state": "running",)"
    R"( "host": "h' password=x", "port": 5432}], "pause": true})";

config::PatroniSourceConfig Source() {
  config::PatroniSourceConfig s;
  s.cluster = "pat";
  s.where = "pgdr.yml:3:5";
  config::TargetConfig t;
  t.dsn = "user=postgres dbname=postgres sslmode=disable";
  t.password_env = "PGDR_PAT_PASSWORD";
  t.labels = {{"team", "db"}};
  s.target_template = t;
  return s;
}

TEST(PatroniDiscovery, ParsesLeaderPauseAndMembersSortedByName) {
  const auto view = ParsePatroniCluster(kCluster);
  ASSERT_TRUE(view);
  EXPECT_TRUE(view->paused);
  EXPECT_EQ(view->leader, "pat-1");
  // "evil" has a host that would carry libpq options: left out.
  ASSERT_EQ(view->members.size(), 2u);
  EXPECT_EQ(view->members[0], (DiscoveredMember{"pat-1", "127.0.0.1", 52277, "leader", ""}));
  EXPECT_EQ(view->members[1], (DiscoveredMember{"pat-2", "127.0.0.1", 45753, "replica", ""}));
}

TEST(PatroniDiscovery, NoLeaderDuringAnElectionAndGarbageIsNoView) {
  const auto view = ParsePatroniCluster(
      R"({"members": [{"name": "pat-2", "role": "replica", "host": "h2", "port": 1}]})");
  ASSERT_TRUE(view);
  EXPECT_FALSE(view->paused);
  EXPECT_EQ(view->leader, "");
  EXPECT_FALSE(ParsePatroniCluster("<html>"));
  EXPECT_FALSE(ParsePatroniCluster(R"({"scope": "pat"})"));
}

TEST(PatroniDiscovery, TargetsTakeTheTemplateAndPatronisHostAndPort) {
  const auto view = ParsePatroniCluster(kCluster);
  ASSERT_TRUE(view);
  const config::PatroniSourceConfig source = Source();
  const auto targets =
      DiscoveredTargets(*source.target_template, source.cluster, source.where, view->members);
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0].Key(), "pat/pat-1");
  EXPECT_EQ(targets[0].dsn,
            "host='127.0.0.1' port=52277 user=postgres dbname=postgres sslmode=disable");
  EXPECT_EQ(targets[0].password_env, "PGDR_PAT_PASSWORD");
  EXPECT_EQ(targets[0].labels.at("team"), "db");
  EXPECT_EQ(targets[1].Key(), "pat/pat-2");
}

TEST(PatroniDiscovery, StaticTargetsKeepPrecedence) {
  config::Config c;
  c.patroni.push_back(Source());
  config::PatroniSourceConfig bare = Source();
  bare.cluster = "bare";
  bare.target_template.reset();  // listed only
  c.patroni.push_back(bare);
  config::TargetConfig fixed;
  fixed.cluster = "pat";
  fixed.member = "pat-1";
  fixed.dsn = "host=10.0.0.1";
  c.targets.push_back(fixed);
  DiscoveredMembers found{
      {PatroniSourceKey("pat"),
       {{"pat-1", "127.0.0.1", 52277, "leader", ""}, {"pat-2", "127.0.0.1", 45753, "replica", ""}}},
      {PatroniSourceKey("bare"), {{"b-1", "h", 1, "leader", ""}}},
      {PatroniSourceKey("other"), {{"x", "h", 1, "leader", ""}}}};
  AddDiscoveredTargets(found, c);
  ASSERT_EQ(c.targets.size(), 2u);
  EXPECT_EQ(c.targets[0].dsn, "host=10.0.0.1");
  EXPECT_EQ(c.targets[1].Key(), "pat/pat-2");
  EXPECT_EQ(c.targets[1].where, "pgdr.yml:3:5 (discovered from Patroni)");
}

}  // namespace
}  // namespace pgdr::app

#include <gtest/gtest.h>

#include "pgdr/config/query_spec.h"

namespace pgdr::config {
namespace {

TEST(QueryFileTest, ParsesOurFormatWithNamesRolesAndScale) {
  auto q = ParseQueryFile(R"(
wal:
  role: replica
  cache_seconds: 30
  runonserver: ">=10.0.0"
  query: SELECT 1 AS lsn, 'x' AS kind
  metrics:
    - kind: {usage: LABEL, description: k}
    - lsn: {usage: GAUGE, name: pgdr_wal_lsn_bytes, scale: 8, description: d}
)",
                          "q.yml", "pgdr_");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ASSERT_EQ(q->size(), 1u);
  const QuerySpec& spec = (*q)[0];
  EXPECT_EQ(spec.name, "wal");
  EXPECT_EQ(spec.role, ServerRole::kReplica);
  EXPECT_EQ(spec.cache_ttl.count(), 30);
  ASSERT_EQ(spec.columns.size(), 2u);
  EXPECT_EQ(spec.columns[1].metric_name, "pgdr_wal_lsn_bytes");
  EXPECT_EQ(spec.columns[1].scale, 8);
  EXPECT_EQ(spec.source, "q.yml:3:3");
}

TEST(QueryFileTest, CnpgKeysAndDerivedNames) {
  auto q = ParseQueryFile(R"(
pg_stat_bgwriter_17:
  name: pg_stat_bgwriter
  primary: true
  predicate_query: SELECT true
  target_databases: ["*"]
  query: SELECT 1 AS buffers_clean
  metrics:
    - buffers_clean: {usage: "COUNTER", description: "d"}
)",
                          "cnpg.yml", "cnpg_");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  const QuerySpec& spec = (*q)[0];
  EXPECT_EQ(spec.role, ServerRole::kPrimary);
  EXPECT_EQ(spec.columns[0].metric_name, "cnpg_pg_stat_bgwriter_buffers_clean");
  EXPECT_EQ(spec.columns[0].usage, ColumnUsage::kCounter);
  ASSERT_TRUE(spec.predicate_sql.has_value());
  EXPECT_EQ(spec.target_databases, std::vector<std::string>{"*"});
}

TEST(QueryFileTest, DescriptionsBecomeValidHelpText) {
  auto q = ParseQueryFile(R"(
a:
  query: SELECT 1 AS v
  metrics:
    - v:
        usage: GAUGE
        description: |
          first line
          C:\path
)",
                          "q.yml", "p_");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ((*q)[0].columns[0].description, "first line\\nC:\\\\path");
}

TEST(QueryFileTest, ErrorsNameFileLineAndColumn) {
  auto q = ParseQueryFile("a:\n  query: x\n  metrics:\n    - v: {usage: GAUGE}\n  colour: red\n",
                          "q.yml", "p_");
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.status().message().find("q.yml:5:3: unknown key \"colour\" in query \"a\""),
            std::string::npos)
      << q.status().message();
  auto missing = ParseQueryFile("a:\n  metrics: []\n", "q.yml", "p_");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("q.yml:2:3: missing required key \"query\""),
            std::string::npos)
      << missing.status().message();
}

TEST(VersionRangeTest, SemverComparisonsAndAlternatives) {
  auto r = VersionRange::Parse(">=10.0.0 <15.0.0 || >=16.2.0");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->Contains(90624));   // 9.6.24
  EXPECT_TRUE(r->Contains(100023));   // 10.23
  EXPECT_TRUE(r->Contains(140010));   // 14.10
  EXPECT_FALSE(r->Contains(150004));  // 15.4
  EXPECT_FALSE(r->Contains(160001));  // 16.1
  EXPECT_TRUE(r->Contains(160002));   // 16.2
  EXPECT_FALSE(VersionRange::Parse(">=ten").ok());
  EXPECT_TRUE(VersionRange().Contains(150000));
}

}  // namespace
}  // namespace pgdr::config

namespace pgdr::config {
namespace {

TEST(TargetDatabases, NamesStarAndRegexes) {
  EXPECT_TRUE(DatabaseMatches("*", "app"));
  EXPECT_TRUE(DatabaseMatches("app", "app"));
  EXPECT_FALSE(DatabaseMatches("app", "app2"));
  EXPECT_TRUE(DatabaseMatches("/^app_[0-9]+$/", "app_12"));
  EXPECT_FALSE(DatabaseMatches("/^app_[0-9]+$/", "app_x"));
  EXPECT_FALSE(DatabasePatternError("/^a/").has_value());
  EXPECT_TRUE(DatabasePatternError("/(/").has_value());
}

TEST(TargetDatabases, InvalidRegexNamesFileAndLine) {
  auto r = ParseQueryFile(
      "q:\n  query: SELECT 1 AS x\n  target_databases: ['/(/']\n"
      "  metrics:\n    - x: {usage: GAUGE, description: x}\n",
      "q.yml", "pgdr_");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("q.yml:3"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("invalid regex"), std::string::npos);
}

TEST(TargetDatabases, PerDatabaseQueriesMatch) {
  auto r = ParseQueryFile(
      "q:\n  query: SELECT 1 AS x\n  target_databases: ['/^app/', 'postgres']\n"
      "  metrics:\n    - x: {usage: GAUGE, description: x}\n",
      "q.yml", "pgdr_");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const QuerySpec& q = (*r)[0];
  EXPECT_TRUE(q.per_database());
  EXPECT_TRUE(q.RunsInDatabase("app_a"));
  EXPECT_TRUE(q.RunsInDatabase("postgres"));
  EXPECT_FALSE(q.RunsInDatabase("other"));
}

}  // namespace
}  // namespace pgdr::config

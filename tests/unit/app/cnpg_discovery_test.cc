// The instances a CloudNativePG Cluster list makes targets of, and their
// application with `discovery.cnpg[].targets` (the body shape of the real
// CRD's status, as tests/integration/test_cnpg_mock_api.py seeds it).
#include <gtest/gtest.h>

#include "app/cnpg_metrics.h"
#include "app/discovery.h"

namespace pgdr::app {
namespace {

constexpr char kClusters[] =
    R"({"kind": "ClusterList", "items": [)"
    R"({"metadata": {"name": "pg-main", "namespace": "db"},)"
    R"( "status": {"currentPrimary": "pg-main-2", "targetPrimary": "pg-main-2",)"
    R"( "instanceNames": ["pg-main-1", "pg-main-2", "pg-main-3"]}},)"
    R"({"metadata": {"name": "pg-other", "namespace": "db"},)"
    R"( "status": {"currentPrimary": "pg-other-1", "instancesStatus":)"
    R"( {"healthy": ["pg-other-2", "pg-other-1"]}}}]})";

config::CnpgSourceConfig Source() {
  config::CnpgSourceConfig s;
  s.namespaces = {"db"};
  s.host_template = "/run/pods/{namespace}/{cluster}/{pod}";
  s.port = 5433;
  s.where = "pgdr.yml:7:5";
  config::TargetConfig t;
  t.dsn = "user=postgres dbname=postgres";
  t.password_file = "/etc/pgdr/pw";
  s.target_template = t;
  return s;
}

TEST(CnpgDiscovery, InstancesInListOrderWithTheRoleOfCurrentPrimary) {
  const auto found = CnpgInstances(Source(), {"db", kClusters, std::nullopt});
  ASSERT_TRUE(found);
  const std::vector<DiscoveredMember> want{
      {"pg-main-1", "/run/pods/db/pg-main/pg-main-1", 5433, "replica", "pg-main"},
      {"pg-main-2", "/run/pods/db/pg-main/pg-main-2", 5433, "primary", "pg-main"},
      {"pg-main-3", "/run/pods/db/pg-main/pg-main-3", 5433, "replica", "pg-main"},
      {"pg-other-1", "/run/pods/db/pg-other/pg-other-1", 5433, "primary", "pg-other"},
      {"pg-other-2", "/run/pods/db/pg-other/pg-other-2", 5433, "replica", "pg-other"}};
  EXPECT_EQ(*found, want);
  config::CnpgSourceConfig only = Source();
  only.clusters = {"pg-other"};
  EXPECT_EQ(CnpgInstances(only, {"db", kClusters, std::nullopt})->size(), 2u);
  // Not a list (an error page, nothing): unanswered, not "no instances".
  EXPECT_FALSE(CnpgInstances(Source(), {"db", std::string("<html>"), std::nullopt}));
  EXPECT_FALSE(CnpgInstances(Source(), {"db", std::nullopt, std::nullopt}));
  EXPECT_EQ(CnpgInstances(Source(), {"db", std::string(R"({"items": []})"), std::nullopt}),
            std::vector<DiscoveredMember>{});
}

TEST(CnpgDiscovery, TargetsPerClusterWithTheTemplateStaticFirst) {
  config::Config c;
  c.cnpg.push_back(Source());
  config::CnpgSourceConfig listed_only = Source();
  listed_only.target_template.reset();
  c.cnpg.push_back(listed_only);
  config::TargetConfig fixed;
  fixed.cluster = "pg-main";
  fixed.member = "pg-main-1";
  fixed.dsn = "host=10.0.0.1";
  c.targets.push_back(fixed);
  const auto found = CnpgInstances(Source(), {"db", kClusters, std::nullopt});
  ASSERT_TRUE(found);
  AddDiscoveredTargets({{CnpgSourceKey(0), *found}, {CnpgSourceKey(1), *found}}, c);
  ASSERT_EQ(c.targets.size(), 5u);  // the static pg-main-1, 4 discovered, none of entry 1
  EXPECT_EQ(c.targets[0].dsn, "host=10.0.0.1");
  EXPECT_EQ(c.targets[1].Key(), "pg-main/pg-main-2");
  EXPECT_EQ(c.targets[1].dsn,
            "host='/run/pods/db/pg-main/pg-main-2' port=5433 user=postgres dbname=postgres");
  EXPECT_EQ(c.targets[1].password_file, "/etc/pgdr/pw");
  EXPECT_EQ(c.targets[1].where, "pgdr.yml:7:5 (discovered from CloudNativePG)");
  EXPECT_EQ(c.targets[4].Key(), "pg-other/pg-other-2");
}

TEST(CnpgDiscovery, AHostThatWouldCarryOptionsIsLeftOut) {
  config::CnpgSourceConfig s = Source();
  s.host_template = "{pod} sslmode=disable";
  const auto found = CnpgInstances(s, {"db", kClusters, std::nullopt});
  ASSERT_TRUE(found);
  EXPECT_TRUE(DiscoveredTargets(*s.target_template, "", s.where, *found).empty());
}

}  // namespace
}  // namespace pgdr::app

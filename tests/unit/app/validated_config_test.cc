// LoadAndValidate: every section of pgdr.yml comes out typed, and an error in
// any section (the store's and the actions module's included) names the
// file, the line and column, and the key.
#include "app/validated_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace pgdr::app {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

class ValidatedConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/pgdr-validated-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/pgdr.yml";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Lines 1-2 are the targets; `extra` starts on line 3.
  core::Result<ValidatedConfig> Load(const std::string& extra) {
    std::ofstream(path_) << "targets:\n"
                            "  - {cluster: prod, member: p1, dsn: 'host=127.0.0.1 port=5001'}\n"
                         << extra;
    return LoadAndValidate(path_);
  }

  // The error of `extra`, which must fail.
  std::string Error(const std::string& extra) {
    auto v = Load(extra);
    EXPECT_FALSE(v.ok()) << extra;
    return v.ok() ? "" : v.status().message();
  }

  std::string dir_, path_;
};

TEST_F(ValidatedConfigTest, SectionsComeOutTyped) {
  auto v = Load(
      "backup_stores:\n"
      "  - {name: local, cluster: prod, layout: barman-cloud, url: 'file://" +
      dir_ +
      "', interval: 2m, deadline: 20s, wal_segment_size: 33554432}\n"
      "alerting:\n"
      "  resend_delay: 30s\n"
      "actions:\n"
      "  triggers:\n"
      "    - {match: 'alertname=\"Down\"', action: failover, cooldown: 5m}\n"
      "maintenance:\n"
      "  windows: [{cluster: prod, cron: '0 2 * * SUN', duration: 2h}]\n");
  ASSERT_TRUE(v.ok()) << v.status().message();
  ASSERT_EQ(v->stores.size(), 1u);
  const store::StoreSettings& s = v->stores[0];
  EXPECT_EQ(s.name, "local");
  EXPECT_EQ(s.layout_options.server_name, "prod") << "defaults to the cluster";
  EXPECT_EQ(s.interval, minutes(2));
  EXPECT_EQ(s.deadline, seconds(20));
  EXPECT_EQ(s.full_list_interval, minutes(60));
  EXPECT_EQ(s.layout_options.segment_size, 32u << 20);
  EXPECT_EQ(s.store_options.url, "file://" + dir_);
  EXPECT_EQ(s.where, path_ + ":4:5");
  ASSERT_EQ(v->monitors.size(), 1u);
  EXPECT_EQ(v->monitors[0]->name(), "local");
  EXPECT_EQ(v->monitors[0]->interval(), minutes(2));
  ASSERT_NE(v->engine, nullptr);
  EXPECT_EQ(v->engine->resend_delay_ms(), 30'000);
}

TEST_F(ValidatedConfigTest, BackupStoreErrorsNameLineAndKey) {
  const std::string store =
      "  - {name: s, cluster: prod, layout: barman-cloud, url: 'file://" + dir_ + "'";
  EXPECT_EQ(Error("backup_stores:\n" + store + ", intervall: 1m}\n").rfind(path_ + ":4:", 0), 0u);
  EXPECT_NE(
      Error("backup_stores:\n" + store + ", intervall: 1m}\n").find("unknown key \"intervall\""),
      std::string::npos);
  const std::string bad_interval = Error("backup_stores:\n" + store + ", interval: 0s}\n");
  EXPECT_EQ(bad_interval.rfind(path_ + ":4:", 0), 0u) << bad_interval;
  EXPECT_NE(bad_interval.find("interval must be positive"), std::string::npos) << bad_interval;
  const std::string layout =
      Error("backup_stores:\n  - {name: s, cluster: prod, layout: tar, url: 'file:///x'}\n");
  EXPECT_EQ(layout.rfind(path_ + ":4:", 0), 0u) << layout;
  EXPECT_NE(layout.find("layout must be"), std::string::npos) << layout;
  const std::string not_list = Error("backup_stores: {name: s}\n");
  EXPECT_EQ(not_list.rfind(path_ + ":3:", 0), 0u) << not_list;
  EXPECT_NE(not_list.find("backup_stores must be a list"), std::string::npos) << not_list;
}

TEST_F(ValidatedConfigTest, AlertingActionsAndMaintenanceErrorsNameLineAndKey) {
  const std::string alerting = Error("alerting:\n  resend_dely: 1m\n");
  EXPECT_EQ(alerting.rfind(path_ + ":4:3: unknown key \"resend_dely\" in alerting", 0), 0u)
      << alerting;
  const std::string queue = Error("alerting:\n  queue_capacity: 0\n");
  EXPECT_EQ(queue.rfind(path_ + ":4:19: queue_capacity must be >= 1", 0), 0u) << queue;
  const std::string actions = Error("actions:\n  dryrun: true\n");
  EXPECT_EQ(actions.rfind(path_ + ":4:3: unknown key \"dryrun\" in actions", 0), 0u) << actions;
  const std::string trigger =
      Error("actions:\n  triggers:\n    - {match: 'a=\"b\"', action: failover, cluster: qa}\n");
  EXPECT_EQ(trigger.rfind(path_ + ":5:", 0), 0u) << trigger;
  EXPECT_NE(trigger.find("unknown cluster \"qa\""), std::string::npos) << trigger;
  const std::string window = Error(
      "maintenance:\n  windows:\n    - {cluster: prod, cron: '0 2 * * SUN', durations: 1h}\n");
  EXPECT_EQ(window.rfind(path_ + ":5:", 0), 0u) << window;
  EXPECT_NE(window.find("unknown key \"durations\" in maintenance window"), std::string::npos)
      << window;
}

}  // namespace
}  // namespace pgdr::app

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "pgdr/config/config.h"
#include "pgdr/restore/drills.h"
#include "pgdr/store/archive.h"

namespace pgdr::restore {
namespace {

// Writes a config with the given drills section, loads it and parses its
// drills against its stores, as LoadAndValidate does.
core::Result<std::vector<DrillSpec>> LoadDrills(const std::string& drills) {
  char path[] = "/tmp/pgdr-drills-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  std::ofstream(path) << "targets: []\nbackup_stores:\n"
                         "  - {name: s3, cluster: demo, layout: barman-cloud, url: s3://b/p}\n"
                         "  - {name: dumps, cluster: demo, layout: pg_dump, url: file:///d}\n"
                         "  - {name: walg, cluster: demo, layout: wal-g, url: file:///w}\n"
                      << drills;
  config::OwnedSections sections;
  auto config = config::LoadConfig(path, &sections);
  unlink(path);
  EXPECT_TRUE(config.ok()) << config.status().message();
  if (!config.ok()) return config.status();
  auto stores = store::ParseBackupStores(sections.reader, sections.backup_stores);
  if (!stores.ok()) return stores.status();
  return ParseDrills(sections.reader, sections.drills, *stores);
}

TEST(ParseDrills, DefaultsAndTarget) {
  auto drills = LoadDrills(
      "drills:\n  - cluster: demo\n    interval: 1d\n    target: now - 1h\n"
      "    port_range: 20000-20010\n    max_disk: 2GiB\n"
      "    verify: [{sql: 'SELECT 1', expect: '1'}]\n");
  ASSERT_TRUE(drills.ok()) << drills.status().message();
  ASSERT_EQ(drills->size(), 1u);
  const DrillSpec& d = drills->front();
  EXPECT_EQ(d.store.name, "s3");  // the only restorable store of the cluster
  EXPECT_EQ(d.interval, std::chrono::hours(24));
  EXPECT_EQ(d.target_age, std::chrono::hours(1));
  EXPECT_EQ(d.port_first, 20000);
  EXPECT_EQ(d.port_last, 20010);
  EXPECT_EQ(*d.max_disk_bytes, 2.0 * (1 << 30));
  ASSERT_EQ(d.verify.size(), 1u);
  EXPECT_EQ(*d.verify[0].expect, "1");
}

TEST(ParseDrills, PgDumpStoreWhenNamed) {
  auto drills = LoadDrills("drills:\n  - cluster: demo\n    store: dumps\n    target: now - 1d\n");
  ASSERT_TRUE(drills.ok()) << drills.status().message();
  EXPECT_EQ(drills->front().store.layout, "pg_dump");
  EXPECT_EQ(drills->front().target_age, std::chrono::hours(24));
}

TEST(ParseDrills, CronSchedule) {
  auto drills = LoadDrills("drills:\n  - cluster: demo\n    schedule: \"30 2 * * mon-fri\"\n");
  ASSERT_TRUE(drills.ok()) << drills.status().message();
  const DrillSpec& d = drills->front();
  ASSERT_TRUE(d.schedule.has_value());
  EXPECT_EQ(d.schedule->text(), "30 2 * * mon-fri");
  // Friday 2026-12-04 03:00 UTC: next is Monday 02:30.
  const auto friday = std::chrono::system_clock::from_time_t(1796353200);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(d.NextRun(friday)), 1796610600);
  // Without a schedule: the interval after the last run.
  auto plain = LoadDrills("drills:\n  - cluster: demo\n    interval: 2h\n");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->front().NextRun(friday), friday + std::chrono::hours(2));
  EXPECT_FALSE(plain->front() == d);
  auto compare = LoadDrills(
      "drills:\n  - cluster: demo\n    verify: [{sql: 'SELECT 1', compare_with_primary: true}]\n");
  ASSERT_TRUE(compare.ok()) << compare.status().message();
  EXPECT_TRUE(compare->front().verify[0].compare_with_primary);
  EXPECT_FALSE(compare->front().verify[0].expect.has_value());
}

TEST(ParseDrills, ErrorsNamePositionAndKey) {
  auto bad = [](const std::string& section) {
    auto drills = LoadDrills(section);
    EXPECT_FALSE(drills.ok());
    return drills.ok() ? std::string() : drills.status().message();
  };
  EXPECT_NE(bad("drills:\n  - cluster: other\n").find("no backup store of cluster \"other\""),
            std::string::npos);
  EXPECT_NE(
      bad("drills:\n  - cluster: demo\n    target: yesterday\n").find(":8:13: target must be"),
      std::string::npos);
  EXPECT_NE(bad("drills:\n  - cluster: demo\n    store: walg\n")
                .find("barman-cloud, pgbackrest and pg_dump stores only"),
            std::string::npos);
  EXPECT_NE(bad("drills:\n  - cluster: demo\n    colour: red\n").find("unknown key \"colour\""),
            std::string::npos);
  EXPECT_NE(bad("drills:\n  - cluster: demo\n  - cluster: demo\n").find("a second drill"),
            std::string::npos);
  EXPECT_NE(bad("drills:\n  - cluster: demo\n    verify: [{sql: 'SELECT 1', expect: '1', "
                "compare_with_primary: true}]\n")
                .find("set expect or compare_with_primary, not both"),
            std::string::npos);
  EXPECT_NE(bad("drills:\n  - cluster: demo\n    schedule: \"61 * * * *\"\n")
                .find(":8:15: cron minute field \"61\": values run from 0 to 59"),
            std::string::npos);
  EXPECT_NE(bad("drills:\n  - cluster: demo\n    interval: 1d\n    schedule: \"@daily\"\n")
                .find(":9:15: set interval or schedule, not both"),
            std::string::npos);
}

}  // namespace
}  // namespace pgdr::restore

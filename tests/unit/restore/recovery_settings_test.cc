#include <gtest/gtest.h>

#include "pgdr/restore/restore.h"

namespace pgdr::restore {
namespace {

TEST(RecoverySettings, BeforeXidIsExclusive) {
  RecoveryTarget t;
  t.kind = RecoveryTarget::Kind::kXid;
  t.value = "728";
  t.inclusive = false;
  EXPECT_EQ(RecoverySettings(t, "barman-cloud-wal-restore 's3://b/p' 'demo' %f %p"),
            "restore_command = 'barman-cloud-wal-restore ''s3://b/p'' ''demo'' %f %p'\n"
            "recovery_target_xid = '728'\n"
            "recovery_target_inclusive = off\n"
            "recovery_target_timeline = 'latest'\n"
            "recovery_target_action = 'promote'\n");
  EXPECT_EQ(t.Describe(), "xid 728 (exclusive)");
}

TEST(RecoverySettings, LatestHasNoTargetAndImmediateNoInclusive) {
  RecoveryTarget latest;
  EXPECT_EQ(RecoverySettings(latest, "cp /a/%f %p"),
            "restore_command = 'cp /a/%f %p'\nrecovery_target_timeline = 'latest'\n");
  RecoveryTarget immediate;
  immediate.kind = RecoveryTarget::Kind::kImmediate;
  immediate.action = "pause";
  std::string text = RecoverySettings(immediate, "x");
  EXPECT_NE(text.find("recovery_target = 'immediate'\n"), std::string::npos);
  EXPECT_EQ(text.find("recovery_target_inclusive"), std::string::npos);
  EXPECT_NE(text.find("recovery_target_action = 'pause'\n"), std::string::npos);
}

// The postmaster rejects "...Z" at start (no time zone abbreviations loaded
// yet) and exits: the setting carries a numeric offset.
TEST(RecoverySettings, TimeTargetHasANumericOffset) {
  RecoveryTarget t;
  t.kind = RecoveryTarget::Kind::kTime;
  t.value = "2026-12-03T09:56:31.762Z";
  std::string text = RecoverySettings(t, "x");
  EXPECT_NE(text.find("recovery_target_time = '2026-12-03T09:56:31.762+00'\n"), std::string::npos)
      << text;
  t.value = "2026-12-03T09:56:31+02:00";
  text = RecoverySettings(t, "x");
  EXPECT_NE(text.find("recovery_target_time = '2026-12-03T09:56:31+02:00'\n"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace pgdr::restore

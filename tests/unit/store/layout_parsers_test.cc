#include <gtest/gtest.h>

#include "store/layout.h"

namespace pgdr::store {
namespace {

constexpr uint64_t k16M = kDefaultWalSegmentSize;

// As barman-cloud-backup 3.x writes it (abridged).
constexpr std::string_view kBarmanInfo = R"(backup_id=20261123T190000
backup_name=None
begin_offset=40
begin_time=2026-11-23 19:00:00.123456+00:00
begin_wal=000000010000000000000003
begin_xlog=0/3000028
end_offset=256
end_time=2026-11-23 19:00:05.500000+00:00
end_wal=000000010000000000000003
end_xlog=0/3000100
error=None
mode=concurrent
size=31457280
status=DONE
systemid=7300000000000000000
timeline=1
version=150005
)";

TEST(BarmanBackupInfoTest, Parses) {
  core::Result<BackupRecord> r = ParseBarmanBackupInfo(kBarmanInfo, k16M);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->id, "20261123T190000");
  EXPECT_EQ(r->status, "done");
  EXPECT_EQ(r->type, "full");
  EXPECT_DOUBLE_EQ(*r->begin_time, 1795460400.123456);
  EXPECT_DOUBLE_EQ(*r->end_time, 1795460405.5);
  EXPECT_DOUBLE_EQ(*r->size_bytes, 31457280);
  EXPECT_EQ(r->begin_wal->segno, 3u);
}

TEST(BarmanBackupInfoTest, TruncatedFileNamesTheMissingField) {
  std::string_view truncated = kBarmanInfo.substr(0, kBarmanInfo.find("end_time"));
  core::Result<BackupRecord> r = ParseBarmanBackupInfo(truncated, k16M);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("status"), std::string::npos) << r.status().message();
  std::string no_end(kBarmanInfo);
  no_end.erase(no_end.find("end_time"),
               no_end.find('\n', no_end.find("end_time")) - no_end.find("end_time") + 1);
  r = ParseBarmanBackupInfo(no_end, k16M);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("end_time"), std::string::npos);
}

TEST(BarmanBackupInfoTest, GarbageAndFailed) {
  EXPECT_FALSE(ParseBarmanBackupInfo("\x01\x02 binary junk", k16M).ok());
  EXPECT_FALSE(ParseBarmanBackupInfo("status=DONE\nend_time=yesterday\n", k16M).ok());
  core::Result<BackupRecord> r = ParseBarmanBackupInfo(
      "status=FAILED\nbegin_time=2026-11-23 19:00:00+00:00\nerror=failure\n", k16M);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, "failed");
}

constexpr std::string_view kPgBackRestInfo = R"([backrest]
backrest-checksum="0123"
backrest-format=5
backrest-version="2.45"

[backup:current]
20261123-190000F={"backrest-format":5,"backrest-version":"2.45","backup-archive-start":"000000010000000000000004","backup-archive-stop":"000000010000000000000004","backup-info-repo-size":2400000,"backup-info-repo-size-delta":2400000,"backup-info-size":24000000,"backup-info-size-delta":24000000,"backup-lsn-start":"0/4000028","backup-lsn-stop":"0/4000100","backup-prior":null,"backup-reference":null,"backup-timestamp-start":1795460400,"backup-timestamp-stop":1795460410,"backup-type":"full","db-id":1,"option-archive-check":true,"option-archive-copy":false,"option-backup-standby":false,"option-checksum-page":false,"option-compress":true,"option-hardlink":false,"option-online":true}
20261123-190000F_20261123-200000I={"backup-archive-start":"000000010000000000000006","backup-info-repo-size":1000,"backup-timestamp-start":1795464000,"backup-timestamp-stop":1795464002,"backup-type":"incr","backup-error":true}

[db]
db-id=1
db-system-id=7300000000000000000
db-version="15"

[db:history]
1={"db-catalog-version":202209061,"db-control-version":1300,"db-system-id":7300000000000000000,"db-version":"15"}
)";

TEST(PgBackRestInfoTest, Parses) {
  auto r = ParsePgBackRestInfo(kPgBackRestInfo, k16M);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].type, "full");
  EXPECT_EQ((*r)[0].status, "done");
  EXPECT_DOUBLE_EQ(*(*r)[0].end_time, 1795460410);
  EXPECT_DOUBLE_EQ(*(*r)[0].size_bytes, 2400000);
  EXPECT_EQ((*r)[0].begin_wal->segno, 4u);
  EXPECT_EQ((*r)[1].type, "incr");
  EXPECT_EQ((*r)[1].status, "done_with_errors");
}

TEST(PgBackRestInfoTest, BadInput) {
  auto r = ParsePgBackRestInfo("[backrest]\n[backup:current]\nlabel={\"backup-type\":\n", k16M);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line 3"), std::string::npos) << r.status().message();
  EXPECT_FALSE(ParsePgBackRestInfo("", k16M).ok());  // no [backrest]: truncated
  EXPECT_FALSE(ParsePgBackRestInfo("[backrest\n", k16M).ok());
  std::string_view cut = kPgBackRestInfo.substr(0, kPgBackRestInfo.find("[db]"));
  auto truncated = ParsePgBackRestInfo(cut, k16M);
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("truncated"), std::string::npos);
  EXPECT_FALSE(
      ParsePgBackRestInfo("[backrest]\n[backup:current]\nx={\"backup-type\":\"full\"}\n", k16M)
          .ok());
}

// WAL-G has no Debian package: the sentinel follows WAL-G's documented field names.
TEST(WalGSentinelTest, ParsesDocumentedFields) {
  constexpr std::string_view kSentinel = R"({"LSN":50331688,"FinishLSN":50332000,
    "StartTime":"2026-11-23T19:00:00.000000Z","FinishTime":"2026-11-23T19:01:00.000000Z",
    "Hostname":"db1","DataDir":"/var/lib/postgresql/15/main","PgVersion":150005,
    "IsPermanent":false,"SystemIdentifier":7300000000000000000,
    "UncompressedSize":30000000,"CompressedSize":3000000,"UserData":null})";
  auto r = ParseWalGSentinel("base_000000010000000000000003", kSentinel, k16M);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->type, "full");
  EXPECT_DOUBLE_EQ(*r->end_time, 1795460460);
  EXPECT_DOUBLE_EQ(*r->size_bytes, 3000000);
  EXPECT_EQ(r->begin_wal->segno, 3u);
  auto delta = ParseWalGSentinel(
      "base_000000010000000000000009_D_000000010000000000000003",
      R"({"LSN":150994984,"FinishTime":"2026-11-23T20:00:00Z","DeltaFrom":"base_000000010000000000000003"})",
      k16M);
  ASSERT_TRUE(delta.ok());
  EXPECT_EQ(delta->type, "delta");
  EXPECT_FALSE(ParseWalGSentinel("base_x", "{\"LSN\": 1", k16M).ok());
  EXPECT_FALSE(ParseWalGSentinel("base_x", "[]", k16M).ok());
}

}  // namespace
}  // namespace pgdr::store

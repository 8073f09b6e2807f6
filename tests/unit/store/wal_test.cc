#include "pgdr/store/wal.h"

#include <gtest/gtest.h>

namespace pgdr::store {
namespace {

constexpr uint64_t k16M = kDefaultWalSegmentSize;

TEST(WalNameTest, SegmentNameAndLsnMath) {
  auto id = ParseSegmentName("000000010000000000000002", k16M);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->timeline, 1u);
  EXPECT_EQ(id->segno, 2u);
  // Log 1, segment 0 is segment number 256 with 16MB segments (0x100000000 / 16MB).
  id = ParseSegmentName("00000003000000010000000A", k16M);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->timeline, 3u);
  EXPECT_EQ(id->segno, 256u + 10u);
  EXPECT_EQ(SegmentName(*id, k16M), "00000003000000010000000A");
  // The LSN 1/0A000028 lies in that segment.
  EXPECT_EQ(*ParseLsn("1/0A000028") / k16M, id->segno);
  EXPECT_EQ(FormatLsn((id->segno + 1) * k16M), "1/B000000");
  EXPECT_FALSE(ParseSegmentName("000000010000000000000100", k16M).has_value());  // seg >= 256
  EXPECT_FALSE(ParseSegmentName("00000001000000000000000", k16M).has_value());
  EXPECT_FALSE(ParseSegmentName("0000000100000000000000ZZ", k16M).has_value());
  // 64MB segments: 64 per log.
  EXPECT_EQ(ParseSegmentName("000000010000000100000003", 64ull << 20)->segno, 64u + 3u);
}

TEST(WalNameTest, ParseLsn) {
  EXPECT_EQ(ParseLsn("0/3000028"), 0x3000028u);
  EXPECT_EQ(ParseLsn("16/B374D848"), 0x16B374D848ull);
  EXPECT_FALSE(ParseLsn("3000028").has_value());
  EXPECT_FALSE(ParseLsn("0/").has_value());
}

TEST(WalNameTest, Classify) {
  using K = WalFile::Kind;
  EXPECT_EQ(ClassifyWalFile("srv/wals/0000000100000000/000000010000000000000002").kind,
            K::kSegment);
  EXPECT_EQ(ClassifyWalFile("x/000000010000000000000002.gz").kind, K::kSegment);
  EXPECT_EQ(ClassifyWalFile("x/000000010000000000000002.zst").kind, K::kSegment);
  EXPECT_EQ(ClassifyWalFile("archive/main/15-1/0000000100000000/"
                            "000000010000000000000002-0123456789abcdef0123456789abcdef01234567.gz")
                .kind,
            K::kSegment);
  EXPECT_EQ(ClassifyWalFile("x/000000010000000000000005.partial").kind, K::kPartial);
  EXPECT_EQ(ClassifyWalFile("x/000000010000000000000005.partial.gz").kind, K::kPartial);
  EXPECT_EQ(ClassifyWalFile("x/000000010000000000000003.00000028.backup").kind, K::kBackupLabel);
  WalFile history = ClassifyWalFile("x/00000002.history");
  EXPECT_EQ(history.kind, K::kHistory);
  EXPECT_EQ(history.segment.timeline, 2u);
  EXPECT_EQ(ClassifyWalFile("wal_005/00000002.history.lz4").kind, K::kHistory);
  EXPECT_EQ(ClassifyWalFile("x/archive.info").kind, K::kOther);
  EXPECT_EQ(ClassifyWalFile("x/garbage").kind, K::kOther);
}

TEST(HistoryTest, Parse) {
  auto entries = ParseHistoryFile(
      "1\t0/3000060\tno recovery target specified\n\n"
      "2\t0/5000000\tat restore point \"x\"\n");
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[1].parent, 2u);
  EXPECT_EQ((*entries)[1].switchpoint, 0x5000000u);
  auto bad = ParseHistoryFile("1\t0/3000060\treason\nnot a line\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos);
  EXPECT_FALSE(ParseHistoryFile("2\t0/5000000\tx\n1\t0/3000000\ty\n").ok());
}

WalChain Chain(std::map<uint32_t, SegmentSet> segments) {
  WalChain chain;
  chain.segments = std::move(segments);
  return chain;
}

TEST(GapTest, CompleteAndMissingOnOneTimeline) {
  EXPECT_EQ(ComputeGap(Chain({{1, {2, 3, 4, 5}}}), {1, 2}, k16M).missing, 0u);
  GapReport gap = ComputeGap(Chain({{1, {2, 3, 5, 6}}}), {1, 2}, k16M);
  EXPECT_EQ(gap.missing, 1u);
  ASSERT_TRUE(gap.first_missing.has_value());
  EXPECT_EQ(gap.first_missing->segno, 4u);
  // Segments before the backup's start do not matter.
  EXPECT_EQ(ComputeGap(Chain({{1, {1, 5, 6, 7}}}), {1, 5}, k16M).missing, 0u);
  // A start after everything archived: nothing to check.
  EXPECT_EQ(ComputeGap(Chain({{1, {1, 2}}}), {1, 9}, k16M).missing, 0u);
}

TEST(GapTest, FollowsTimelineSwitchFromHistory) {
  // Timeline 1 up to 0/5000060 (segment 5 holds the switch point); timeline 2
  // from segment 5 on. Timeline 1's segment 5 exists only as a .partial.
  WalChain chain = Chain({{1, {2, 3, 4}}, {2, {5, 6, 7}}});
  chain.histories[2] = {{1, 0x5000060}};
  GapReport gap = ComputeGap(chain, {1, 2}, k16M);
  EXPECT_EQ(gap.missing, 0u);
  EXPECT_EQ(gap.timeline, 2u);
  EXPECT_FALSE(gap.history_missing);
  // Timeline 1's segment 6 (written by the old primary after the switch) does
  // not fill timeline 2's hole.
  chain = Chain({{1, {2, 3, 4, 5, 6}}, {2, {5, 7}}});
  chain.histories[2] = {{1, 0x5000060}};
  gap = ComputeGap(chain, {1, 2}, k16M);
  EXPECT_EQ(gap.missing, 1u);
  EXPECT_EQ(gap.first_missing->timeline, 2u);
  EXPECT_EQ(gap.first_missing->segno, 6u);
  // Missing before the switch, on timeline 1.
  chain = Chain({{1, {2, 4}}, {2, {5, 6}}});
  chain.histories[2] = {{1, 0x5000060}};
  gap = ComputeGap(chain, {1, 2}, k16M);
  EXPECT_EQ(gap.missing, 1u);
  EXPECT_EQ(gap.first_missing->timeline, 1u);
  EXPECT_EQ(gap.first_missing->segno, 3u);
}

TEST(GapTest, TwoSwitches) {
  WalChain chain = Chain({{1, {1, 2}}, {2, {3, 4}}, {3, {5, 6}}});
  chain.histories[3] = {{1, 0x3000000}, {2, 0x5000000}};
  EXPECT_EQ(ComputeGap(chain, {1, 1}, k16M).missing, 0u);
  chain.segments[2].Erase(4);
  EXPECT_EQ(ComputeGap(chain, {1, 1}, k16M).missing, 1u);
}

TEST(GapTest, WithoutHistoryAnyTimelineCounts) {
  GapReport gap = ComputeGap(Chain({{1, {2, 3, 4}}, {2, {5, 6}}}), {1, 2}, k16M);
  EXPECT_EQ(gap.missing, 0u);
  EXPECT_TRUE(gap.history_missing);
  gap = ComputeGap(Chain({{1, {2, 3}}, {2, {5, 6}}}), {1, 2}, k16M);
  EXPECT_EQ(gap.missing, 1u);
}

TEST(GapTest, EmptyArchive) { EXPECT_EQ(ComputeGap(WalChain{}, {1, 2}, k16M).missing, 0u); }

}  // namespace
}  // namespace pgdr::store

namespace pgdr::store {
namespace {

TEST(SegmentSetTest, RunsMergeSplitAndCount) {
  SegmentSet set;
  for (uint64_t s = 10; s < 20; ++s) set.Insert(s);
  set.Insert(30);
  set.Insert(5);
  EXPECT_EQ(set.runs().size(), 3u);
  EXPECT_EQ(set.size(), 12u);
  set.InsertRange(20, 30);  // bridges the runs 10..19 and 30
  EXPECT_EQ(set.runs().size(), 2u);
  EXPECT_EQ(set.size(), 22u);
  EXPECT_EQ(set.CountIn(0, 100), 22u);
  EXPECT_EQ(set.CountIn(12, 15), 3u);
  set.Erase(15);
  EXPECT_FALSE(set.Contains(15));
  EXPECT_TRUE(set.Contains(16));
  EXPECT_EQ(set.FirstMissingIn(10, 31), 15u);
  EXPECT_EQ(set.FirstMissingIn(16, 31), std::nullopt);
  EXPECT_EQ(set.FirstMissingIn(0, 10), 0u);
  EXPECT_EQ(set.min(), 5u);
  EXPECT_EQ(set.max(), 30u);
  set.Insert(12);  // already present
  EXPECT_EQ(set.size(), 21u);
}

}  // namespace
}  // namespace pgdr::store

namespace pgdr::store {
namespace {

// "1\t0/5000060\tno recovery target specified\n", gzip-compressed (gzip -n).
constexpr unsigned char kHistoryGz[] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x33, 0xe4, 0x34, 0xd0, 0x37,
    0x35, 0x00, 0x02, 0x33, 0x03, 0xce, 0xbc, 0x7c, 0x85, 0xa2, 0xd4, 0xe4, 0xfc, 0xb2, 0xd4,
    0xa2, 0x4a, 0x85, 0x92, 0xc4, 0xa2, 0xf4, 0xd4, 0x12, 0x85, 0xe2, 0x82, 0xd4, 0xe4, 0xcc,
    0xb4, 0xcc, 0xd4, 0x14, 0x2e, 0x00, 0xf5, 0x6f, 0xe1, 0x07, 0x29, 0x00, 0x00, 0x00};

TEST(GunzipTest, HistoryFile) {
  std::string_view data(reinterpret_cast<const char*>(kHistoryGz), sizeof kHistoryGz);
  core::Result<std::string> text = Gunzip(data, 1 << 20);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text, "1\t0/5000060\tno recovery target specified\n");
  EXPECT_FALSE(Gunzip(data.substr(0, data.size() - 12), 1 << 20).ok());  // truncated
  EXPECT_FALSE(Gunzip("not gzip at all", 1 << 20).ok());
  EXPECT_FALSE(Gunzip(data, 10).ok());  // larger than the limit
}

}  // namespace
}  // namespace pgdr::store

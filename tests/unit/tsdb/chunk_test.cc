#include "pgdr/tsdb/chunk.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "pgdr/tsdb/tsdb.h"

namespace pgdr::tsdb {
namespace {

struct Raw {
  int64_t t;
  uint64_t v;  // compared as bit patterns: NaNs, -0
};

Chunk Encode(const std::vector<Raw>& in) {
  Chunk c;
  ChunkAppender app;
  for (const Raw& r : in) app.Append(c, r.t, std::bit_cast<double>(r.v));
  return c;
}

std::vector<Raw> Decode(const Chunk& c) {
  std::vector<Raw> out;
  ChunkIterator it(c);
  while (it.Next()) out.push_back({it.t(), std::bit_cast<uint64_t>(it.v())});
  return out;
}

void ExpectRoundTrip(const std::vector<Raw>& in) {
  Chunk c = Encode(in);
  EXPECT_EQ(c.samples, in.size());
  if (!in.empty()) {
    EXPECT_EQ(c.min_t, in.front().t);
    EXPECT_EQ(c.max_t, in.back().t);
  }
  const std::vector<Raw> out = Decode(c);
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].t, in[i].t) << "sample " << i;
    EXPECT_EQ(out[i].v, in[i].v) << "sample " << i;
  }
}

uint64_t Bits(double v) { return std::bit_cast<uint64_t>(v); }

TEST(Chunk, EmptyChunkHasNoSamples) {
  Chunk c;
  ChunkIterator it(c);
  EXPECT_FALSE(it.Next());
}

TEST(Chunk, SpecialValuesRoundTripBitExactly) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<Raw> in;
  const uint64_t values[] = {Bits(StaleNaN()),
                             Bits(std::numeric_limits<double>::quiet_NaN()),
                             Bits(inf),
                             Bits(-inf),
                             Bits(-0.0),
                             Bits(0.0),
                             Bits(StaleNaN()),
                             Bits(std::numeric_limits<double>::denorm_min()),
                             Bits(std::numeric_limits<double>::max()),
                             Bits(std::numeric_limits<double>::lowest()),
                             0x7ff8dead0000beefull,  // a NaN with a payload
                             Bits(1.5),
                             Bits(StaleNaN())};
  int64_t t = 1'700'000'000'000;
  for (uint64_t v : values) in.push_back({t += 1000, v});
  ExpectRoundTrip(in);
  EXPECT_TRUE(IsStaleNaN(std::bit_cast<double>(Decode(Encode(in))[0].v)));
}

TEST(Chunk, TimestampJumpsAndIrregularIntervals) {
  // Every delta-of-delta bucket boundary, both signs, and jumps across the
  // whole int64 range (the arithmetic wraps identically both ways).
  std::vector<int64_t> deltas = {1000, 1000, 1001,  937,     1064,    1065, 63, 8191,
                                 8192, 8193, -8190, 524'288, 524'289, 1,    0};
  std::vector<Raw> in;
  int64_t t = -5;
  for (int64_t d : deltas) {
    if (d <= 0) continue;
    in.push_back({t, Bits(static_cast<double>(t))});
    t += d;
  }
  in.push_back({t + 86'400'000LL * 365, Bits(1)});
  in.push_back({std::numeric_limits<int64_t>::max(), Bits(2)});
  ExpectRoundTrip(in);

  ExpectRoundTrip({{std::numeric_limits<int64_t>::min(), Bits(1)},
                   {0, Bits(2)},
                   {std::numeric_limits<int64_t>::max(), Bits(3)}});
  ExpectRoundTrip({{42, Bits(7)}});
}

TEST(Chunk, RandomSeriesRoundTrip) {
  std::mt19937_64 rng(20261203);
  for (int round = 0; round < 200; ++round) {
    std::vector<Raw> in;
    int64_t t = static_cast<int64_t>(rng() % 2'000'000'000'000ULL);
    double counter = 0;
    const int kind = round % 4;
    const size_t n = 1 + rng() % 300;
    for (size_t i = 0; i < n; ++i) {
      // Mostly 1 s with jitter, sometimes a gap of minutes or hours.
      const uint64_t r = rng() % 100;
      t += r < 90 ? 1000 + static_cast<int64_t>(rng() % 41) - 20
                  : (r < 98 ? 1 + static_cast<int64_t>(rng() % 600'000)
                            : static_cast<int64_t>(rng() % (1ULL << 40)));
      uint64_t v = 0;
      switch (kind) {
        case 0:  // counter
          counter += static_cast<double>(rng() % 1000);
          v = Bits(counter);
          break;
        case 1:  // gauge, mostly constant
          v = Bits(rng() % 10 == 0 ? static_cast<double>(rng() % 5) : 1.0);
          break;
        case 2:  // arbitrary bit patterns
          v = rng();
          break;
        default:  // rates: full-mantissa floats with stale markers between
          v = rng() % 20 == 0 ? Bits(StaleNaN()) : Bits(static_cast<double>(rng()) / 3.0e17);
      }
      in.push_back({t, v});
    }
    ExpectRoundTrip(in);
  }
}

TEST(Chunk, RegularCollectionIsSmall) {
  // 1 s collection with a few ms of jitter: a growing counter costs about 9
  // bits of time and 12 of value, a constant gauge 9 + 1.
  std::vector<Raw> counter;
  std::vector<Raw> gauge;
  int64_t t = 1'700'000'000'000;
  double v = 1e6;
  std::mt19937_64 rng(7);
  for (size_t i = 0; i < kChunkSamples; ++i) {
    t += 1000 + static_cast<int64_t>(rng() % 7) - 3;
    v += static_cast<double>(rng() % 16);
    counter.push_back({t, Bits(v)});
    gauge.push_back({t, Bits(1)});
  }
  Chunk c = Encode(counter);
  EXPECT_LT(c.bytes(), 3 * kChunkSamples);
  EXPECT_GE(c.capacity, c.bytes());
  c.Seal();
  EXPECT_EQ(c.capacity, c.bytes());
  EXPECT_EQ(Decode(c).size(), kChunkSamples);
  Chunk g = Encode(gauge);
  EXPECT_LE(g.bits, 128 + (kChunkSamples - 1) * 10);  // a repeated delta: 1 bit
}

// Ground truth by hand: the first sample is 128 bits; the second's
// delta-of-delta (1000) takes the 14-bit bucket (4 + 14 bits), later ones 1.
// A value costs 1 bit unchanged, else 2 + the window's width when reused,
// 2 + 11 + the XOR's meaningful bits with a new window.
TEST(Chunk, NewXorWindowWhenTheOldOneIsMuchWider) {
  const uint64_t v1 = 0x0000'FFFF'FFFF'0000;     // XOR 32 bits wide (16 leading, 16 trailing)
  const uint64_t v2 = v1 ^ (uint64_t{1} << 32);  // 1 bit: reusing would cost 32
  const uint64_t v3 = v2 ^ (uint64_t{1} << 32);  // the same bit: reuses the 1-bit window
  const std::vector<Raw> in = {{1000, 0}, {2000, v1}, {3000, v2}, {4000, v3}};
  ExpectRoundTrip(in);
  // Prometheus's rule (always reuse when it fits) would take 128 + 62 + 35 + 35.
  EXPECT_EQ(Encode(in).bits, 128u + (18 + 2 + 11 + 32) + (1 + 2 + 11 + 1) + (1 + 2 + 1));
}

TEST(Chunk, XorWindowReusedWhenNotMuchWider) {
  const uint64_t v1 = 0x0000'00FF'FF00'0000;        // 16 bits wide (24 leading, 24 trailing)
  const uint64_t v2 = v1 ^ (uint64_t{0x1f} << 24);  // 9 bits (leading zeros capped at 31)
  const std::vector<Raw> in = {{1000, 0}, {2000, v1}, {3000, v2}};
  ExpectRoundTrip(in);
  EXPECT_EQ(Encode(in).bits, 128u + (18 + 2 + 11 + 16) + (1 + 2 + 16));
}

// A cycle a few ms off its tick: its delta-of-delta and the next one's (back
// on the grid) take the 4-bit bucket, 2 + 4 bits each; on the grid, 1 bit.
// Beyond 8 ms the 7-bit bucket (3 + 7), beyond 64 the 14-bit (4 + 14).
TEST(Chunk, DeltaOfDeltaBuckets) {
  const uint64_t v = Bits(1);
  const std::vector<Raw> in = {{0, v},    {1000, v}, {2000, v}, {3003, v}, {4000, v},  {5000, v},
                               {6008, v}, {7000, v}, {8009, v}, {9000, v}, {10065, v}, {11000, v}};
  ExpectRoundTrip(in);
  // dods: 1000 (first), 0, 3, -6, 3, 8, -16, 17, -18, 74, -130; values unchanged: 1 bit.
  const uint32_t time_bits = 18 + 1 + 6 + 6 + 6 + 6 + 10 + 10 + 10 + 18 + 18;
  EXPECT_EQ(Encode(in).bits, 128u + time_bits + 11);
}

TEST(TsdbChunks, ReplaceLastAndDecodeAcrossChunks) {
  Options o;
  o.max_samples_per_series = 100'000;
  o.retention = std::chrono::hours(24);
  Tsdb db(o);
  Labels a = MakeLabels({{"__name__", "x"}});
  std::vector<Sample> want;
  std::mt19937_64 rng(3);
  int64_t t = 1000;
  for (int i = 0; i < 1000; ++i) {
    t += 1 + static_cast<int64_t>(rng() % 3000);
    const double v = i % 17 == 0 ? StaleNaN() : static_cast<double>(rng() % 100) / 7;
    ASSERT_TRUE(db.Append(a, t, v));
    if (i % 5 == 0) {  // the same time again replaces the value
      ASSERT_TRUE(db.Append(a, t, -0.0));
      want.push_back({t, -0.0});
    } else {
      want.push_back({t, v});
    }
    EXPECT_FALSE(db.Append(a, t - 1, 1)) << "out of order";
  }
  auto got = db.Select({*Matcher::Make(MatchType::kEqual, "__name__", "x")}, 0, t);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].samples.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[0].samples[i].t, want[i].t);
    EXPECT_EQ(Bits(got[0].samples[i].v), Bits(want[i].v)) << i;
  }
  // A range inside the middle decodes only what it covers.
  auto mid =
      db.Select({*Matcher::Make(MatchType::kEqual, "__name__", "x")}, want[300].t, want[700].t);
  ASSERT_EQ(mid.size(), 1u);
  ASSERT_EQ(mid[0].samples.size(), 401u);
  EXPECT_EQ(mid[0].samples.front().t, want[300].t);
  EXPECT_EQ(mid[0].samples.back().t, want[700].t);
  EXPECT_EQ(db.GetStats().samples, want.size());
}

TEST(TsdbChunks, RetentionDropsWholeChunksAndHidesOlderSamples) {
  Options o;
  o.retention = std::chrono::seconds(60);
  Tsdb db(o);
  Labels a = MakeLabels({{"__name__", "x"}});
  for (int i = 0; i <= 600; ++i) db.Append(a, i * 1000, i);
  // 61 samples are within the retention; whole chunks before it are gone.
  auto got = db.Select({*Matcher::Make(MatchType::kEqual, "__name__", "x")}, 0, 600'000);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].samples.size(), 61u);
  EXPECT_EQ(got[0].samples.front().t, 540'000);
  const Stats s = db.GetStats();
  EXPECT_GE(s.samples, 61u);
  EXPECT_LE(s.samples, 61u + kChunkSamples);
  db.Compact(600'000 + 60'000);
  EXPECT_EQ(
      db.Select({*Matcher::Make(MatchType::kEqual, "__name__", "x")}, 0, 700'000)[0].samples.size(),
      1u);
  db.Compact(600'000 + 60'001);
  EXPECT_EQ(db.GetStats().series, 0u);
  EXPECT_EQ(db.GetStats().samples, 0u);
}

TEST(TsdbChunks, MaxSamplesDropsTheOldestChunk) {
  Options o;
  o.max_samples_per_series = 4096;
  o.retention = std::chrono::hours(24);
  Tsdb db(o);
  Labels a = MakeLabels({{"__name__", "x"}});
  for (int i = 0; i < 10'000; ++i) db.Append(a, i * 1000, i);
  const Stats s = db.GetStats();
  EXPECT_LE(s.samples, 4096u);
  EXPECT_GT(s.samples, 4096u - kChunkSamples);
  auto got = db.Select({*Matcher::Make(MatchType::kEqual, "__name__", "x")}, 0, 1LL << 40);
  ASSERT_EQ(got[0].samples.size(), s.samples);
  EXPECT_EQ(got[0].samples.back().v, 9999);
  EXPECT_EQ(got[0].samples.front().v, 10'000 - static_cast<double>(s.samples));
  // Regular 1 s samples of a counter growing by one: 1 bit of time, up to
  // 2 bytes of value, the series and its chunk headers.
  EXPECT_LT(static_cast<double>(s.bytes) / static_cast<double>(s.samples), 2.5);
}

}  // namespace
}  // namespace pgdr::tsdb

#include "pgdr/core/time_format.h"

#include <gtest/gtest.h>

namespace pgdr::core {
namespace {

// 2026-11-23T20:00:00Z, from `date -u -d 2026-11-23T20:00:00Z +%s`.
constexpr int64_t kMs = 1795464000LL * 1000;

TEST(TimeFormatTest, FractionVariants) {
  EXPECT_EQ(FormatRfc3339(kMs + 500, Fraction::kNone), "2026-11-23T20:00:00Z");
  EXPECT_EQ(FormatRfc3339(kMs + 500, Fraction::kMilliseconds), "2026-11-23T20:00:00.500Z");
  EXPECT_EQ(FormatRfc3339(kMs + 500, Fraction::kShortest), "2026-11-23T20:00:00.5Z");
  EXPECT_EQ(FormatRfc3339(kMs + 123, Fraction::kShortest), "2026-11-23T20:00:00.123Z");
  EXPECT_EQ(FormatRfc3339(kMs, Fraction::kShortest), "2026-11-23T20:00:00Z");
  EXPECT_EQ(FormatRfc3339(kMs, Fraction::kMilliseconds), "2026-11-23T20:00:00.000Z");
}

TEST(TimeFormatTest, BeforeTheEpochFloors) {
  EXPECT_EQ(FormatRfc3339(-1, Fraction::kMilliseconds), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339(0, Fraction::kNone), "1970-01-01T00:00:00Z");
}

TEST(TimeFormatTest, TimePointOverloadAgrees) {
  const std::chrono::system_clock::time_point t{std::chrono::milliseconds(kMs + 42)};
  EXPECT_EQ(FormatRfc3339(t, Fraction::kMilliseconds), "2026-11-23T20:00:00.042Z");
}

TEST(TimeFormatTest, UtcNowThroughStrftime) {
  const std::string year = FormatUtcNow("%Y");
  const std::string rfc3339 = FormatRfc3339(std::chrono::system_clock::now(), Fraction::kNone);
  EXPECT_EQ(year, rfc3339.substr(0, 4));
  EXPECT_EQ(FormatUtcNow("%Y%m%dT%H%M%SZ").size(), 16u);
  EXPECT_EQ(FormatUtcNow("plain"), "plain");
}

}  // namespace
}  // namespace pgdr::core

#include "pgdr/core/status.h"

#include <gtest/gtest.h>

#include "pgdr/core/log.h"

namespace pgdr::core {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument("odd: " + std::to_string(x));
  return x / 2;
}

TEST(StatusTest, OkAndErrorsCarryTheirMessage) {
  EXPECT_TRUE(Status::OK().ok());
  EXPECT_EQ(Status::OK().ToString(), "OK");
  Status s = Status::NotFound("pgdr.yml:3:5: key \"targets\"");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kNotFound);
  EXPECT_EQ(s.ToString(), "not found: pgdr.yml:3:5: key \"targets\"");
}

TEST(StatusTest, ResultHoldsValueOrStatus) {
  auto r = Half(8);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 4);
  auto e = Half(3);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "odd: 3");
}

TEST(LogTest, LogfmtQuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(RenderLogLine(LogFormat::kLogfmt, "target down", {{"cluster", "prod"}, {"err", "a b"}}),
            R"(msg="target down" cluster=prod err="a b")");
}

TEST(LogTest, JsonEscapes) {
  EXPECT_EQ(RenderLogLine(LogFormat::kJson, "x", {{"k", "say \"hi\"\n"}}),
            R"("msg":"x","k":"say \"hi\"\n")");
}

TEST(LogTest, ParsesLevelsAndFormats) {
  EXPECT_EQ(*ParseLogLevel("warn"), LogLevel::kWarn);
  EXPECT_FALSE(ParseLogLevel("loud").ok());
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_FALSE(ParseLogFormat("xml").ok());
}

}  // namespace
}  // namespace pgdr::core

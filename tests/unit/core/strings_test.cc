#include "pgdr/core/strings.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

namespace pgdr::core {
namespace {

TEST(StringsTest, TrimRemovesAsciiWhitespaceAtBothEnds) {
  EXPECT_EQ(Trim("  a b\t\r\n"), "a b");
  EXPECT_EQ(Trim("\f\va\v"), "a");
  EXPECT_EQ(Trim("ab"), "ab");
  EXPECT_EQ(Trim(" \t\r\n "), "");
  EXPECT_EQ(Trim(""), "");
}

TEST(StringsTest, TrimRightKeepsLeadingWhitespace) {
  EXPECT_EQ(TrimRight("  secret \r\n"), "  secret");
  EXPECT_EQ(TrimRight("x"), "x");
  EXPECT_EQ(TrimRight("\n\n"), "");
}

TEST(StringsTest, PercentEncodeKeepsUnreservedAndEncodesTheRest) {
  EXPECT_EQ(PercentEncode("aZ09-_.~", Escape::kComponent), "aZ09-_.~");
  EXPECT_EQ(PercentEncode("a b/c=d&\xff", Escape::kComponent), "a%20b%2Fc%3Dd%26%FF");
  EXPECT_EQ(PercentEncode("base/2026 x", Escape::kPath), "base/2026%20x");
  EXPECT_EQ(PercentEncode("up == 0 / 1+", Escape::kQuery), "up+%3D%3D+0+%2F+1%2B");
  EXPECT_EQ(PercentEncode("", Escape::kQuery), "");
}

TEST(StringsTest, JoinPutsTheSeparatorBetweenParts) {
  EXPECT_EQ(Join(std::vector<std::string>{"a", "b", "c"}, ", "), "a, b, c");
  EXPECT_EQ(Join(std::vector<std::string>{"", "b"}, ","), ",b");
  EXPECT_EQ(Join(std::vector<std::string>{"one"}, ","), "one");
  EXPECT_EQ(Join(std::vector<std::string>{}, ","), "");
  EXPECT_EQ(Join(std::initializer_list<std::string_view>{"x", "y"}, " | "), "x | y");
}

TEST(StringsTest, QuotedEscapesAsGoAndJsonDo) {
  EXPECT_EQ(Quoted("plain"), "\"plain\"");
  EXPECT_EQ(Quoted("a\"b\\c\nd\te\rf"), "\"a\\\"b\\\\c\\nd\\te\\rf\"");
  EXPECT_EQ(Quoted(std::string_view("\x01\x7f", 2)), "\"\\x01\\x7f\"");
  EXPECT_EQ(Quoted(std::string_view("\x01", 1), QuoteStyle::kJson), "\"\\u0001\"");
  EXPECT_EQ(Quoted("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  std::string out = "x=";
  AppendQuoted(out, "", QuoteStyle::kGo);
  EXPECT_EQ(out, "x=\"\"");
}

}  // namespace
}  // namespace pgdr::core

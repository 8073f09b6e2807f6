// Label matchers, Alertmanager fingerprints and timestamps.
#include "pgdr/actions/alert.h"

#include <gtest/gtest.h>

namespace pgdr::actions {
namespace {

TEST(Matchers, AllOperators) {
  auto m = ParseMatchers(
      R"({alertname="PostgresPrimaryMissing", cluster!="test", severity=~"crit.*", team!~"db|ops"})");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->size(), 4u);
  LabelMap l = {
      {"alertname", "PostgresPrimaryMissing"}, {"cluster", "prod"}, {"severity", "critical"}};
  EXPECT_TRUE(MatchAll(*m, l));
  l["team"] = "ops";
  EXPECT_FALSE(MatchAll(*m, l));
  l["team"] = "web";
  l["severity"] = "xcritical";  // regexes are anchored
  EXPECT_FALSE(MatchAll(*m, l));
}

TEST(Matchers, WithoutBracesAndMissingLabels) {
  auto m = ParseMatchers(R"(alertname="A", region="")");
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(MatchAll(*m, {{"alertname", "A"}}));  // absent label equals ""
  EXPECT_FALSE(MatchAll(*m, {{"alertname", "A"}, {"region", "eu"}}));
}

TEST(Matchers, QuotedCommasAndEscapes) {
  auto m = ParseMatchers(R"(a="x,}y", b="q\"uote")");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(MatchAll(*m, {{"a", "x,}y"}, {"b", "q\"uote"}}));
  EXPECT_EQ((*m)[1].ToString(), R"(b="q\"uote")");
}

TEST(Matchers, Errors) {
  EXPECT_FALSE(ParseMatchers("").ok());
  EXPECT_FALSE(ParseMatchers("alertname").ok());
  EXPECT_FALSE(ParseMatchers("alertname=A").ok());
  EXPECT_FALSE(ParseMatchers(R"(a="x)").ok());
  EXPECT_FALSE(ParseMatchers(R"({a="x")").ok());
  EXPECT_FALSE(ParseMatchers(R"(a=~"(")").ok());
  EXPECT_FALSE(ParseMatchers(R"(a="x" b="y")").ok());
  EXPECT_FALSE(Matcher::Parse(R"(a="x", b="y")").ok());
  EXPECT_TRUE(Matcher::Parse(R"(a="x")").ok());
}

TEST(Fingerprint, StableAndOrderIndependent) {
  const std::string a = Fingerprint({{"alertname", "X"}, {"cluster", "prod"}});
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(a, Fingerprint({{"cluster", "prod"}, {"alertname", "X"}}));
  EXPECT_NE(a, Fingerprint({{"alertname", "X"}, {"cluster", "test"}}));
  // FNV-1a 64 of the empty input is the offset basis.
  EXPECT_EQ(Fingerprint({}), "cbf29ce484222325");
}

TEST(Rfc3339, Milliseconds) {
  const TimePoint t = Clock::from_time_t(1'795'000'000) + std::chrono::milliseconds(42);
  EXPECT_EQ(FormatRfc3339(t), "2026-11-18T11:06:40.042Z");
}

}  // namespace
}  // namespace pgdr::actions

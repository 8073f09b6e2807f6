#include <gtest/gtest.h>

#include <sstream>

#include "pgdr/rules/test_runner.h"

namespace pgdr::rules {
namespace {

const std::string kDir = std::string(PGDR_SHARED_DIR) + "/conformance/promtool/";

TEST(CheckRules, ReportsLikePromtool) {
  std::ostringstream out;
  EXPECT_EQ(CheckRules({kDir + "rules.yml"}, out), 0);
  EXPECT_EQ(out.str(), "Checking " + kDir + "rules.yml\n  SUCCESS: 5 rules found\n\n");
}

TEST(CheckRules, SyntaxErrorsFailWithPosition) {
  std::ostringstream out;
  EXPECT_EQ(CheckRules({kDir + "bad-rules-syntax.yml"}, out), 1);
  EXPECT_NE(out.str().find("bad-rules-syntax.yml: 7:15: group \"bad-syntax\", rule 1, \"x\": "
                           "could not parse expression: 1:7: parse error: unexpected end of input"),
            std::string::npos)
      << out.str();
}

TEST(CheckRules, DuplicatesAreALintNotAnError) {
  std::ostringstream out;
  EXPECT_EQ(CheckRules({kDir + "rules_duplicates.yml"}, out), 0);
  EXPECT_NE(out.str().find("lint error 1 duplicate rule(s) found.\nMetric: "
                           "job:test:count_over_time1m\n"),
            std::string::npos)
      << out.str();
}

TEST(RunRuleTestFiles, MissingFileFails) {
  std::ostringstream out;
  EXPECT_EQ(RunRuleTestFiles({kDir + "no-such-file.yml"}, out), 1);
  EXPECT_NE(out.str().find("  FAILED:"), std::string::npos);
}

}  // namespace
}  // namespace pgdr::rules

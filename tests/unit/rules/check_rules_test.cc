#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "conformance_suite.h"
#include "pgdr/rules/test_runner.h"

namespace pgdr::rules {
namespace {

// promtool's own rule files.
class CheckRulesConformance : public conformance::SuiteTest<> {
 protected:
  CheckRulesConformance() : SuiteTest("promtool") {}
  std::string File(const char* name) const { return (dir() / name).string(); }
};

TEST_F(CheckRulesConformance, ReportsLikePromtool) {
  std::ostringstream out;
  EXPECT_EQ(CheckRules({File("rules.yml")}, out), 0);
  EXPECT_EQ(out.str(), "Checking " + File("rules.yml") + "\n  SUCCESS: 5 rules found\n\n");
}

TEST_F(CheckRulesConformance, SyntaxErrorsFailWithPosition) {
  std::ostringstream out;
  EXPECT_EQ(CheckRules({File("bad-rules-syntax.yml")}, out), 1);
  EXPECT_NE(out.str().find("bad-rules-syntax.yml: 7:15: group \"bad-syntax\", rule 1, \"x\": "
                           "could not parse expression: 1:7: parse error: unexpected end of input"),
            std::string::npos)
      << out.str();
}

TEST_F(CheckRulesConformance, DuplicatesAreALintNotAnError) {
  std::ostringstream out;
  EXPECT_EQ(CheckRules({File("rules_duplicates.yml")}, out), 0);
  EXPECT_NE(out.str().find("lint error 1 duplicate rule(s) found.\nMetric: "
                           "job:test:count_over_time1m\n"),
            std::string::npos)
      << out.str();
}

TEST(RunRuleTestFiles, MissingFileFails) {
  std::ostringstream out;
  const auto missing = std::filesystem::temp_directory_path() / "pgdr-no-such-rule-test.yml";
  EXPECT_EQ(RunRuleTestFiles({missing.string()}, out), 1);
  EXPECT_NE(out.str().find("  FAILED:"), std::string::npos);
}

}  // namespace
}  // namespace pgdr::rules

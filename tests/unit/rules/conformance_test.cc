// test-rules must agree with promtool 2.42 on every conformance file: the
// expected exit codes below are promtool's own.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "conformance_suite.h"
#include "pgdr/rules/test_runner.h"

namespace pgdr::rules {
namespace {

struct Case {
  const char* file;
  int promtool_exit;
};

class PromtoolConformance : public conformance::SuiteTest<::testing::TestWithParam<Case>> {
 protected:
  PromtoolConformance() : SuiteTest("promtool") {}
};

TEST_P(PromtoolConformance, SameExitCodeAsPromtool) {
  const Case& c = GetParam();
  // A missing file fails test-rules too: that must not pass for promtool's 1.
  ASSERT_TRUE(std::filesystem::is_regular_file(dir() / c.file)) << dir() / c.file;
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir());
  std::ostringstream out;
  int code = RunRuleTestFiles({c.file}, out);
  std::filesystem::current_path(cwd);
  EXPECT_EQ(code, c.promtool_exit) << out.str();
}

INSTANTIATE_TEST_SUITE_P(
    Files, PromtoolConformance,
    ::testing::Values(Case{"at-modifier-test.yml", 0}, Case{"bad-rules-error-test.yml", 1},
                      Case{"bad-rules-syntax-test.yml", 1}, Case{"negative-offset-test.yml", 0},
                      Case{"unittest.yml", 0}, Case{"long-period.yml", 0}, Case{"failing.yml", 1},
                      Case{"bad-input-series.yml", 1}, Case{"bad-promql.yml", 1}),
    [](const auto& info) {
      std::string name = info.param.file;
      for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

}  // namespace
}  // namespace pgdr::rules

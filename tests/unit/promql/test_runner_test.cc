#include "pgdr/promql/test_runner.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace pgdr::promql {
namespace {

TEST(TestRunner, CountsPassesAndFailuresAndShowsDiffs) {
  const auto path = std::filesystem::temp_directory_path() / "pgdr_runner_test.test";
  std::ofstream(path) << R"(# a comment
load 1m
  m{a="1"} 1+1x5
  m{a="2"} 10 _ stale

eval instant at 2m m
  m{a="1"} 3

eval instant m{a="1"}
  m{a="1"} 1

eval instant at 3m sum(m)
  {} 99

eval_fail instant at 0m rate(m)

eval_ordered instant at 1m sort_desc(m)
  m{a="2"} 10
  m{a="1"} 2

clear

eval instant at 1m m
)";
  std::ostringstream out;
  EXPECT_EQ(RunPromqlTestFiles({path.string()}, out), 1);
  const std::string text = out.str();
  EXPECT_NE(text.find(": 5 passed, 1 failed"), std::string::npos) << text;
  EXPECT_NE(text.find("line 12: eval instant at 3m sum(m)"), std::string::npos) << text;
  EXPECT_NE(text.find("expected 99 for {} but got 4"), std::string::npos) << text;
  std::filesystem::remove(path);
}

TEST(TestRunner, UnreadableFileIsAnError) {
  std::ostringstream out;
  EXPECT_EQ(RunPromqlTestFiles({"/nonexistent/x.test"}, out), 1);
  EXPECT_NE(out.str().find("error: cannot read"), std::string::npos);
}

}  // namespace
}  // namespace pgdr::promql

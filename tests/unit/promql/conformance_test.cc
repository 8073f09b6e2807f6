// Runs Prometheus's PromQL test scripts (read from the conformance directory,
// never copied) and holds each file's pass count to a floor that may only rise.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <string>

#include "conformance_suite.h"
#include "pgdr/promql/test_runner.h"

namespace pgdr::promql {
namespace {

// Evals passed per file when the floor was last raised.
const std::map<std::string, int> kFloors = {
    {"aggregators.test", 83}, {"at_modifier.test", 33},    {"collision.test", 2},
    {"functions.test", 207},  {"histograms.test", 38},     {"literals.test", 20},
    {"operators.test", 94},   {"selectors.test", 31},      {"staleness.test", 14},
    {"subquery.test", 25},    {"trig_functions.test", 19},
};

class PromqlConformance : public conformance::SuiteTest<> {
 protected:
  PromqlConformance() : SuiteTest("promql") {}
};

TEST_F(PromqlConformance, PassCountsNeverDrop) {
  int passed = 0;
  int total = 0;
  for (const auto& [file, floor] : kFloors) {
    auto result = RunPromqlTestFile((dir() / file).string());
    ASSERT_TRUE(result.ok()) << file << ": " << result.status().message();
    for (const auto& f : result->failures) std::cout << file << ": " << f << "\n";
    std::cout << file << ": " << result->passed << " passed, " << result->failed << " failed\n";
    EXPECT_GE(result->passed, floor) << file;
    passed += result->passed;
    total += result->passed + result->failed;
  }
  std::cout << "total: " << passed << "/" << total << "\n";
}

}  // namespace
}  // namespace pgdr::promql

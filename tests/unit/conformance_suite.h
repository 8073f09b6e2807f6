// Prometheus's conformance suites live outside this repository: in
// $PGDR_CONFORMANCE_DIR at run time, else in the directory CMake names
// (PGDR_CONFORMANCE_DEFAULT). A checkout without them skips these tests,
// by name; one with them must run them, so a missing or empty suite there
// is a failure, never a skip that would let a regression pass unseen.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace pgdr::conformance {

inline std::filesystem::path Root() {
  const char* env = std::getenv("PGDR_CONFORMANCE_DIR");
  return (env != nullptr && *env != '\0') ? env : PGDR_CONFORMANCE_DEFAULT;
}

// Base for the tests of one suite (`promql`, `promtool`); Base is
// ::testing::Test or a ::testing::TestWithParam<T>.
template <class Base = ::testing::Test>
class SuiteTest : public Base {
 protected:
  explicit SuiteTest(const char* suite) : suite_(suite) {}

  void SetUp() override {
    const auto root = Root();
    if (!std::filesystem::is_directory(root)) {
      GTEST_SKIP() << "conformance directory " << root << " absent (set PGDR_CONFORMANCE_DIR)";
    }
    dir_ = root / suite_;
    ASSERT_TRUE(std::filesystem::is_directory(dir_) && !std::filesystem::is_empty(dir_))
        << dir_ << " is missing or empty although " << root << " exists";
  }

  // The suite's directory, e.g. <conformance>/promql.
  const std::filesystem::path& dir() const { return dir_; }

 private:
  const char* suite_;
  std::filesystem::path dir_;
};

}  // namespace pgdr::conformance

// Runs Prometheus's PromQL test scripts (promql/testdata/*.test of v2.42):
//   load <step>            series with the expanding notation (1+2x3 _ stale)
//   clear
//   eval instant at <t> <expr>          expected samples or a scalar follow
//   eval_ordered instant at <t> <expr>  same, order checked
//   eval_fail instant at <t> <expr>     the query must fail
// Values compare as Prometheus's test framework does (relative 1e-6, NaN
// equals NaN). Used by `pgdr_exporter promql-test` and by the unit tests.
//
// Thread-safety: each call is independent.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "pgdr/core/status.h"

namespace pgdr::promql {

struct TestFileResult {
  std::string file;
  int passed = 0;
  int failed = 0;
  std::vector<std::string> failures;  // "line N: eval ...: why"
};

// Runs one script; a Status only when the file cannot be read or a
// non-eval command is malformed.
core::Result<TestFileResult> RunPromqlTestFile(const std::string& path);

// Runs every file, printing per file "file: P passed, F failed" and a diff
// per failure, then a total. Returns the exit code: 0 when every eval of
// every file passed, 1 otherwise.
int RunPromqlTestFiles(const std::vector<std::string>& files, std::ostream& out);

}  // namespace pgdr::promql

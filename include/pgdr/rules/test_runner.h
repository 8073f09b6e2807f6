// `promtool test rules` and `promtool check rules`, reimplemented over the
// built-in evaluator so that `pgdr_exporter test-rules` / `check-rules`
// agree with promtool 2.42 on pass/fail and exit code, with its wording.
//
// Thread-safety: each call is independent.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace pgdr::rules {

// Runs promtool unit-test files (rule_files, evaluation_interval,
// group_eval_order, tests with interval, input_series, external_labels,
// external_url, alert_rule_test, promql_expr_test). Prints
// "Unit Testing:  FILE" then "  SUCCESS" or "  FAILED:" and the errors.
// Returns 0 when every file passes, 1 otherwise.
int RunRuleTestFiles(const std::vector<std::string>& files, std::ostream& out);

// Validates rule files as `promtool check rules`: "Checking FILE",
// "  SUCCESS: N rules found" or "  FAILED:" with one error per line, and a
// lint note on duplicate rules. Returns 0 when all are valid, 1 otherwise.
int CheckRules(const std::vector<std::string>& files, std::ostream& out);

}  // namespace pgdr::rules

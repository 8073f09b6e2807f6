// Loading Prometheus rule files (groups, interval, limit, record/alert,
// expr, for, keep_firing_for, labels, annotations) with the validation of
// Prometheus's rulefmt. Errors read as promtool prints them:
//   rules.yml: 7:15: group "g", rule 1, "x": could not parse expression: ...
//
// Thread-safety: pure functions; the returned specs are immutable values
// (parsed expressions are shared, read-only).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pgdr/core/status.h"
#include "pgdr/promql/ast.h"

namespace pgdr::rules {

struct RuleSpec {
  std::string record;  // exactly one of record and alert is set
  std::string alert;
  std::string expr_text;
  std::shared_ptr<const promql::Expr> expr;
  int64_t for_ms = 0;
  int64_t keep_firing_for_ms = 0;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  int line = 0;  // of the rule's first key, 1-based

  const std::string& name() const { return record.empty() ? alert : record; }
};

struct GroupSpec {
  std::string name;
  std::string file;
  int64_t interval_ms = 0;  // 0: the evaluator's default interval
  int limit = 0;            // 0: no limit on series/alerts per rule
  std::vector<RuleSpec> rules;
};

// Reads one rule file. On failure the Status message holds every error
// found, one per line.
core::Result<std::vector<GroupSpec>> LoadRuleFile(const std::string& path);

// Every error of one file (empty when valid); `groups` receives the groups
// when there are none.
std::vector<std::string> ValidateRuleFile(const std::string& path, std::vector<GroupSpec>* groups);

}  // namespace pgdr::rules

// `promtool check rules`: validation plus the duplicate-rules lint.
#include <algorithm>
#include <map>

#include "pgdr/rules/rule_file.h"
#include "pgdr/rules/test_runner.h"

namespace pgdr::rules {

int CheckRules(const std::vector<std::string>& files, std::ostream& out) {
  bool has_errors = false;
  for (const std::string& file : files) {
    out << "Checking " << file << "\n";
    std::vector<GroupSpec> groups;
    std::vector<std::string> errors = ValidateRuleFile(file, &groups);
    if (!errors.empty()) {
      out << "  FAILED:\n";
      for (const std::string& e : errors) out << e << "\n";
      has_errors = true;
      out << "\n";
      continue;
    }
    size_t rules = 0;
    // (name, labels) -> count, in sorted order as promtool reports them.
    std::map<std::pair<std::string, std::map<std::string, std::string>>, int> seen;
    for (const GroupSpec& g : groups) {
      rules += g.rules.size();
      for (const RuleSpec& r : g.rules) ++seen[{r.name(), r.labels}];
    }
    std::vector<
        const std::pair<const std::pair<std::string, std::map<std::string, std::string>>, int>*>
        duplicates;
    for (const auto& entry : seen) {
      if (entry.second > 1) duplicates.push_back(&entry);
    }
    if (!duplicates.empty()) {
      // A lint finding: reported, but not an error (promtool's default).
      out << "  FAILED:\n";
      out << "lint error " << duplicates.size() << " duplicate rule(s) found.\n";
      for (const auto* d : duplicates) {
        out << "Metric: " << d->first.first << "\nLabel(s):\n";
        for (const auto& [k, v] : d->first.second) out << "\t" << k << ": " << v << "\n";
      }
      out << "Might cause inconsistency while recording expressions\n\n";
      continue;
    }
    out << "  SUCCESS: " << rules << " rules found\n\n";
  }
  return has_errors ? 1 : 0;
}

}  // namespace pgdr::rules

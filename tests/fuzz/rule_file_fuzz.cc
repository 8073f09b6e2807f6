// Prometheus rule files: YAML, PromQL expressions, label and annotation templates.
#include "fuzz_input.h"
#include "pgdr/rules/rule_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = pgdr::fuzz::WriteInput(pgdr::fuzz::AsText(data, size), "rules.yml");
  (void)pgdr::rules::LoadRuleFile(path);
  return 0;
}

// Go text/template as alert labels and annotations use it: parse, then expand
// against a fixed alert so functions and pipelines run too.
#include "fuzz_input.h"
#include "rules/template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pgdr::rules::TemplateData alert;
  alert.labels = {{"alertname", "PostgresReplicationLag"}, {"member", "pg-2"}};
  alert.external_labels = {{"region", "eu-west-1"}};
  alert.external_url = "http://127.0.0.1:9688";
  alert.value = 12345.678;
  (void)pgdr::rules::ExpandAlertTemplate("fuzz", pgdr::fuzz::AsText(data, size), alert);
  return 0;
}

// Go text/template as alert labels and annotations use it: parse, then expand
// against a fixed alert (and a fixed `query`) so actions and functions run too.
#include "fuzz_input.h"
#include "rules/template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pgdr::rules::TemplateData alert;
  alert.labels = {{"alertname", "PostgresReplicationLag"}, {"member", "pg-2"}};
  alert.external_labels = {{"region", "eu-west-1"}};
  alert.external_url = "http://127.0.0.1:9688";
  alert.value = 12345.678;
  alert.url_object = "http://127.0.0.1:9688/pgdr";
  // `query` answers every query with two samples, or nothing for "none".
  alert.query =
      [](std::string_view q) -> pgdr::core::Result<std::vector<pgdr::rules::TemplateSample>> {
    if (q == "none") return std::vector<pgdr::rules::TemplateSample>{};
    return std::vector<pgdr::rules::TemplateSample>{{{{"member", "pg-1"}, {"__value__", "x"}}, 1.5},
                                                    {{{"member", "pg-2"}}, -2}};
  };
  (void)pgdr::rules::ExpandAlertTemplate("fuzz", pgdr::fuzz::AsText(data, size), alert);
  return 0;
}

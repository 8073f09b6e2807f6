// --web.config.file as the watcher reads it: YAML syntax, exporter-toolkit
// keys, TLS versions and Go cipher names, bcrypt hash shapes. Certificate
// paths resolve into the fuzzer's private directory, where they never exist.
#include "fuzz_input.h"
#include "pgdr/http/web_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(pgdr::fuzz::AsText(data, size));
  (void)pgdr::http::ParseWebConfig(text, "web.yml", ".");
  return 0;
}

// The whole pgdr.yml loader: YAML syntax, every section's validation, the
// owned sections handed to actions and restore.
#include "fuzz_input.h"
#include "pgdr/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = pgdr::fuzz::WriteInput(pgdr::fuzz::AsText(data, size), "pgdr.yml");
  pgdr::config::OwnedSections sections;
  (void)pgdr::config::LoadConfig(path, &sections);
  return 0;
}

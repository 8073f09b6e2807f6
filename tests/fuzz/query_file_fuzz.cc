// queries/*.yml and CNPG custom-queries files.
#include "fuzz_input.h"
#include "pgdr/config/query_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)pgdr::config::ParseQueryFile(std::string(pgdr::fuzz::AsText(data, size)), "fuzz.yml",
                                     "pgdr_");
  return 0;
}

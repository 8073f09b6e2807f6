// WAL-G's <name>_backup_stop_sentinel.json. The first line of the input is
// the backup name (parsed for its WAL segment and delta base), the rest the JSON.
#include "fuzz_input.h"
#include "store/layout.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = pgdr::fuzz::AsText(data, size);
  const size_t nl = text.find('\n');
  const std::string_view name = nl == std::string_view::npos ? text : text.substr(0, nl);
  const std::string_view json = nl == std::string_view::npos ? "" : text.substr(nl + 1);
  (void)pgdr::store::ParseWalGSentinel(name, json, pgdr::store::kDefaultWalSegmentSize);
  return 0;
}

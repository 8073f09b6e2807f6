// URL query strings as the HTTP handlers read them (QueryParam). The first
// line of the input is the parameter name, the rest the query string.
#include "fuzz_input.h"
#include "pgdr/http/server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = pgdr::fuzz::AsText(data, size);
  const size_t nl = text.find('\n');
  const std::string name(nl == std::string_view::npos ? text : text.substr(0, nl));
  const std::string query(nl == std::string_view::npos ? "" : text.substr(nl + 1));
  (void)pgdr::http::QueryParam(query, name);
  return 0;
}

// Patroni REST answers (GET /patroni and GET /cluster bodies) turned into
// pgdr_patroni_* series. The input's first line is one member's /patroni
// body, the rest the /cluster body: both come from a member pgdr does not
// control, so any bytes must give series or "down", never a crash.
#include "app/patroni_metrics.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = pgdr::fuzz::AsText(data, size);
  const size_t nl = text.find('\n');
  const std::string member(nl == std::string_view::npos ? text : text.substr(0, nl));
  const std::string cluster(nl == std::string_view::npos ? "" : text.substr(nl + 1));
  std::vector<pgdr::app::PatroniMemberAnswer> members{{"http://127.0.0.1:8008", member}};
  pgdr::core::MetricSet out;
  pgdr::app::AddPatroniMetrics("main", members, cluster, out);
  return 0;
}

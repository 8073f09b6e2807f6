// The Kubernetes API's answers to discovery.cnpg: one input is a Cluster list
// and a Backup list (split at the first NUL byte), as the poller receives them.
#include "app/cnpg_metrics.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = pgdr::fuzz::AsText(data, size);
  const size_t nul = text.find('\0');
  pgdr::app::CnpgNamespaceAnswer answer{"db", std::string(text.substr(0, nul)), std::nullopt};
  if (nul != std::string_view::npos) answer.backups = std::string(text.substr(nul + 1));
  pgdr::config::CnpgSourceConfig source;
  pgdr::core::MetricSet out;
  pgdr::app::AddCnpgMetrics(source, answer, out);
  return 0;
}

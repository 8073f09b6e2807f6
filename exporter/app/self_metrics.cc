#include "app/self_metrics.h"

#include <unistd.h>

#include <sstream>

#include "pgdr/core/files.h"

namespace pgdr::app {
namespace {

// CPU seconds and resident bytes of this process, from /proc/self.
void AppendProcessMetrics(core::MetricSet& out) {
  auto stat = core::ReadFile("/proc/self/stat");
  if (stat.ok()) {
    const size_t close = stat->rfind(')');
    std::istringstream in(stat->substr(close + 2));
    std::vector<std::string> f;
    std::string word;
    while (in >> word) f.push_back(word);
    // Fields after the command: state(0) ... utime(11) stime(12) ... rss(21).
    if (f.size() > 21) {
      const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
      out.Counter("process_cpu_seconds_total", "User and system CPU time of the exporter.", {},
                  (std::stod(f[11]) + std::stod(f[12])) / ticks);
      out.Gauge("process_resident_memory_bytes", "Resident memory of the exporter.", {},
                std::stod(f[21]) * static_cast<double>(sysconf(_SC_PAGESIZE)));
    }
  }
}

}  // namespace

constexpr const char* kRefusedHelp =
    "Requests refused: 403 when their endpoint is disabled by a flag, 401 without valid basic "
    "auth, 403 on the private listener behind the TLS relay without the relay's token.";

std::vector<prometheus::MetricFamily> SelfMetrics(const SelfFacts& facts,
                                                  const rules::RuleManager* rules,
                                                  const actions::ActionEngine* engine) {
  core::MetricSet m;
  m.Gauge("pgdr_build_info", "pgdr build: version.", {{"version", facts.version}}, 1);
  m.Gauge("pgdr_exporter_targets", "Members configured for collection.", {},
          static_cast<double>(facts.targets));
  m.Gauge("pgdr_config_last_reload_success_timestamp_seconds",
          "When the running config was loaded.", {},
          std::chrono::duration<double>(facts.last_reload.time_since_epoch()).count());
  m.Counter("pgdr_config_reload_failures_total",
            "Reloads refused because the new config was invalid.", {}, facts.reload_failures);
  m.Counter("pgdr_http_requests_refused_total", kRefusedHelp, {{"reason", "lifecycle_disabled"}},
            facts.refused_lifecycle);
  m.Counter("pgdr_http_requests_refused_total", kRefusedHelp, {{"reason", "admin_api_disabled"}},
            facts.refused_admin_api);
  m.Counter("pgdr_http_requests_refused_total", kRefusedHelp, {{"reason", "unauthorized"}},
            facts.refused_unauthorized);
  m.Counter("pgdr_http_requests_refused_total", kRefusedHelp, {{"reason", "no_relay_token"}},
            facts.refused_no_relay_token);
  if (facts.web_config) {
    m.Counter("pgdr_http_tls_handshake_failures_total",
              "TLS handshakes that failed or timed out: no or an unverified client certificate "
              "where one is required, a protocol or cipher refused, plain HTTP on the TLS port.",
              {}, facts.tls_handshake_failures);
    m.Counter("pgdr_http_tls_connections_rejected_total",
              "TLS connections closed as soon as accepted because 64 were already open.", {},
              facts.tls_connections_rejected);
  }
  if (facts.web_config) {
    m.Counter("pgdr_web_config_reload_failures_total",
              "Web config (--web.config.file) loads refused; the running one was kept.", {},
              facts.web_config_reload_failures);
    m.Gauge("pgdr_web_config_last_reload_success_timestamp_seconds",
            "When the running web config (--web.config.file) was loaded.", {},
            facts.web_config_last_success);
  }
  m.Counter("pgdr_state_load_failures_total",
            "State files (--storage.path) that could not be read or decoded at start: pgdr "
            "started without the kept maintenance windows, cooldowns and alert for-state.",
            {}, facts.state_load_failures);
  m.Counter("pgdr_state_write_failures_total", "Failed writes of the state file (--storage.path).",
            {}, facts.state_write_failures);
  AppendProcessMetrics(m);
  if (rules != nullptr) rules->CollectMetrics(m);
  if (engine != nullptr) engine->CollectMetrics(m);
  return m.Take();
}

}  // namespace pgdr::app

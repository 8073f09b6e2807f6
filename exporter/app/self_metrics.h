// The exporter's own metrics: build info, configured members, reload
// success/failures, process CPU and resident memory (/proc/self), and those
// the rule manager and action engine report about themselves.
//
// Thread-safety: pure function of its arguments (reads /proc/self).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "pgdr/actions/engine.h"
#include "pgdr/core/metric_set.h"
#include "pgdr/rules/manager.h"

namespace pgdr::app {

struct SelfFacts {
  std::string version;
  size_t targets = 0;
  std::chrono::system_clock::time_point last_reload;
  double reload_failures = 0;
  double refused_lifecycle = 0;       // 403s of a disabled /-/reload
  double refused_admin_api = 0;       // 403s of a disabled mutating /api/v1 call
  double refused_unauthorized = 0;    // 401s: missing or wrong basic auth (web config)
  double refused_no_relay_token = 0;  // 403s on civetweb's private listener (TLS on)
  double tls_handshake_failures = 0;
  double tls_connections_rejected = 0;
  // --web.config.file; web_config false: none given (its series are absent).
  bool web_config = false;
  double web_config_reload_failures = 0;
  double web_config_last_success = 0;
  double state_load_failures = 0;   // state files that did not load at start
  double state_write_failures = 0;  // state file writes that failed
};

// `rules` and `engine` may be null.
std::vector<prometheus::MetricFamily> SelfMetrics(const SelfFacts& facts,
                                                  const rules::RuleManager* rules,
                                                  const actions::ActionEngine* engine);

}  // namespace pgdr::app

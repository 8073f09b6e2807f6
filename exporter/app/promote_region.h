// `pgdr_exporter promote-region`: a person's confirmation of a pending
// regional promotion, sent to the running exporter's HTTP API
// (POST /api/v1/actions/region/approve). The exporter re-checks nothing the
// CLI says: it starts only a decision its guards hold pending.
//
// No authentication layer exists yet (issue 13): whoever reaches the
// exporter's listen address can approve.
#pragma once

#include <ostream>
#include <string>

namespace pgdr::app {

struct PromoteRegionOptions {
  std::string web_address = "http://127.0.0.1:9688";  // the running exporter
  std::string cluster;
  std::string region;
  int timeout_seconds = 10;
};

// Prints the exporter's answer; returns 0 when it started the promotion,
// 1 when it refused (nothing pending: the answer says why), 2 when it could
// not be reached.
int PromoteRegion(const PromoteRegionOptions& options, std::ostream& out, std::ostream& err);

}  // namespace pgdr::app

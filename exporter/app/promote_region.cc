#include "app/promote_region.h"

#include <nlohmann/json.hpp>

#include "pgdr/http/client.h"

namespace pgdr::app {

int PromoteRegion(const PromoteRegionOptions& options, std::ostream& out, std::ostream& err) {
  std::string base = options.web_address;
  if (base.rfind("http://", 0) != 0 && base.rfind("https://", 0) != 0) base = "http://" + base;
  while (!base.empty() && base.back() == '/') base.pop_back();
  http::ClientRequest request;
  request.method = "POST";
  request.url = base + "/api/v1/actions/region/approve";
  request.headers = {"Content-Type: application/json"};
  request.body = nlohmann::json{{"cluster", options.cluster}, {"region", options.region}}.dump();
  request.timeout = std::chrono::seconds(options.timeout_seconds);
  http::Client client;
  const auto response = client.Send(request);
  if (!response.ok()) {
    err << "cannot reach the exporter at " << base << ": " << response.status().message() << "\n";
    return 2;
  }
  (response->status / 100 == 2 ? out : err) << response->body;
  return response->status / 100 == 2 ? 0 : 1;
}

}  // namespace pgdr::app

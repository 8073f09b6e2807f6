// patroni: POST {"candidate": ...} to Patroni's /failover endpoint; Patroni
// then promotes the candidate and reconfigures the rest of its cluster.
#include <nlohmann/json.hpp>

#include "actions/provider_table.h"
#include "pgdr/http/client.h"

namespace pgdr::actions {
namespace {

class Patroni final : public FailoverProvider {
 public:
  std::string_view name() const override { return "patroni"; }
  ProviderNeeds needs() const override { return {.http = true}; }

  core::Status Promote(const FailoverPlan& plan,
                       std::chrono::steady_clock::time_point deadline) const override {
    const ReceiverConfig& api = plan.trigger.http;
    http::ClientRequest post = AuthorizedRequest(api, Remaining(deadline));
    post.method = "POST";
    post.url = api.url + (api.url.ends_with("/") ? "failover" : "/failover");
    post.headers.push_back("Content-Type: application/json");
    post.body = nlohmann::json{{"candidate", plan.decision.candidate}}.dump();
    http::Client client;
    return CheckSent(client.Send(post), post);
  }
};

}  // namespace

const FailoverProvider& PatroniProvider() {
  static const Patroni provider;
  return provider;
}

}  // namespace pgdr::actions

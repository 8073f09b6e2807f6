// cnpg: asks CloudNativePG to promote the candidate as `kubectl cnpg promote`
// does: a merge patch of the Cluster's status subresource setting
// targetPrimary, targetPrimaryTimestamp, phase and phaseReason.
#include <ctime>
#include <nlohmann/json.hpp>

#include "actions/provider_table.h"
#include "pgdr/core/time_format.h"
#include "pgdr/http/client.h"

namespace pgdr::actions {
namespace {

class Cnpg final : public FailoverProvider {
 public:
  std::string_view name() const override { return "cnpg"; }
  ProviderNeeds needs() const override { return {.http = true, .kubernetes = true}; }

  core::Status Promote(const FailoverPlan& plan,
                       std::chrono::steady_clock::time_point deadline) const override {
    const Trigger& t = plan.trigger;
    const std::string cluster = t.cnpg_cluster.empty() ? plan.cluster : t.cnpg_cluster;
    const std::string& instance = plan.decision.candidate;
    http::ClientRequest patch = AuthorizedRequest(t.http, Remaining(deadline));
    std::string base = t.http.url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    patch.method = "PATCH";
    patch.url = base + "/apis/postgresql.cnpg.io/v1/namespaces/" + t.k8s_namespace + "/clusters/" +
                cluster + "/status";
    patch.headers.push_back("Content-Type: application/merge-patch+json");
    patch.body =
        nlohmann::json{
            {"status",
             {{"targetPrimary", instance},
              {"targetPrimaryTimestamp",
               core::FormatRfc3339(std::chrono::system_clock::now(), core::Fraction::kNone)},
              {"phase", "Switchover in progress"},
              {"phaseReason", "pgdr: switching over to " + instance}}}}
            .dump();
    http::Client client;
    core::Status st = CheckSent(client.Send(patch), patch);
    if (st.ok()) return st;
    return core::Status::IOError("PATCH Cluster " + t.k8s_namespace + "/" + cluster +
                                 " status: " + st.message());
  }
};

}  // namespace

const FailoverProvider& CnpgProvider() {
  static const Cnpg provider;
  return provider;
}

}  // namespace pgdr::actions

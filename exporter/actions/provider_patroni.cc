// patroni: asks Patroni to move the leader key, as `patronictl failover`
// does, then checks that it did. Patroni then promotes the candidate and
// reconfigures the rest of its cluster.
//
// GET /cluster first (the trigger's url, then the cluster's discovery.patroni
// urls, the first that answers): with a running leader other than the
// candidate it is a POST /switchover {leader, candidate} (Patroni refuses a
// failover naming a leader that is not the current one, and a switchover
// without one); without a leader (it died, Patroni is paused) a POST
// /failover {candidate}. Patroni answers 200 once the new leader holds the
// key; 412 (not possible: the candidate is unknown or unhealthy), 503 (the
// DCS write or the promotion failed) and anything else are failures carrying
// Patroni's own text. On 200 the provider still polls /cluster until the
// candidate is the running leader, by the trigger's deadline.
//
// A regional promotion (plan.region) targets a Patroni standby cluster in
// the standby region, whose standby leader replicates from the lost primary
// region: removing `standby_cluster` from its dynamic configuration
// (PATCH /config {"standby_cluster": null}, what `patronictl edit-config`
// does) makes Patroni promote that leader and repoint its own replicas;
// pg_promote behind Patroni's back would be undone by Patroni.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>

#include "actions/provider_table.h"
#include "pgdr/http/client.h"

namespace pgdr::actions {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct ClusterState {
  std::string url;     // the API that answered
  std::string leader;  // running leader; empty: none
  bool candidate_listed = false;
};

std::string Base(const std::string& url) {
  std::string base = url;
  while (base.ends_with("/")) base.pop_back();
  return base;
}

// Patroni's answer text, short enough for a log line and a decision.
std::string Said(const http::ClientResponse& r) {
  std::string text = r.body.substr(0, 200);
  std::replace(text.begin(), text.end(), '\n', ' ');
  return "HTTP " + std::to_string(r.status) + (text.empty() ? "" : ": " + text);
}

std::optional<ClusterState> GetCluster(http::Client& client, const ReceiverConfig& api,
                                       const std::string& url, const std::string& candidate,
                                       Clock::time_point deadline) {
  http::ClientRequest get = AuthorizedRequest(api, Remaining(deadline));
  get.url = Base(url) + "/cluster";
  const auto r = client.Send(get);
  if (!r.ok() || r->status != 200) return std::nullopt;
  const json c = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (!c.is_object() || !c.contains("members") || !c["members"].is_array()) return std::nullopt;
  ClusterState s{url, "", false};
  for (const json& m : c["members"]) {
    if (!m.is_object()) continue;
    const std::string name = m.value("name", "");
    if (name == candidate) s.candidate_listed = true;
    if (m.value("role", "") == "leader" && m.value("state", "") == "running") s.leader = name;
  }
  return s;
}

// plan.region: see the file comment. Succeeds once a member of the standby
// cluster runs as its (no longer standby) leader.
core::Status PromoteStandbyCluster(http::Client& client, const ReceiverConfig& api,
                                   const std::vector<std::string>& urls,
                                   const std::string& candidate, Clock::time_point deadline) {
  std::string refused;
  std::optional<std::string> patched;
  for (const std::string& url : urls) {
    http::ClientRequest patch = AuthorizedRequest(api, Remaining(deadline));
    patch.method = "PATCH";
    patch.url = Base(url) + "/config";
    patch.headers.push_back("Content-Type: application/json");
    patch.body = R"({"standby_cluster":null})";
    const auto sent = client.Send(patch);
    if (sent.ok() && sent->status == 200) {
      patched = url;
      break;
    }
    refused += (refused.empty() ? "" : "; ") + http::RedactUrl(patch.url) + ": " +
               (sent.ok() ? Said(*sent) : sent.status().message());
  }
  if (!patched) {
    return core::Status::IOError("no Patroni member took the standby cluster's promotion (" +
                                 refused + ")");
  }
  while (true) {
    if (const auto now = GetCluster(client, api, *patched, candidate, deadline);
        now && !now->leader.empty()) {
      return core::Status::OK();
    }
    if (Clock::now() + std::chrono::milliseconds(500) >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return core::Status::Timeout("Patroni accepted the removal of standby_cluster (" +
                               http::RedactUrl(Base(*patched) + "/config") +
                               ") but no member ran as leader by the deadline");
}

class Patroni final : public FailoverProvider {
 public:
  std::string_view name() const override { return "patroni"; }
  ProviderNeeds needs() const override { return {.http = true}; }

  core::Status Promote(const FailoverPlan& plan, Clock::time_point deadline) const override {
    const ReceiverConfig& api = plan.trigger.http;
    const std::string& candidate = plan.decision.candidate;
    std::vector<std::string> urls{api.url};
    if (plan.patroni_urls != nullptr) {
      for (const std::string& u : *plan.patroni_urls) {
        if (Base(u) != Base(api.url)) urls.push_back(u);
      }
    }
    http::Client client;
    if (plan.region) return PromoteStandbyCluster(client, api, urls, candidate, deadline);
    std::optional<ClusterState> state;
    for (const std::string& url : urls) {
      if ((state = GetCluster(client, api, url, candidate, deadline))) break;
    }
    if (!state) {
      return core::Status::Unavailable("no Patroni REST API answered GET /cluster (tried " +
                                       std::to_string(urls.size()) + ")");
    }
    if (!state->candidate_listed) {
      return core::Status::NotFound("candidate " + candidate + " is not in Patroni's /cluster");
    }
    if (state->leader == candidate) return core::Status::OK();  // already done
    const bool switchover = !state->leader.empty();
    http::ClientRequest post = AuthorizedRequest(api, Remaining(deadline));
    post.method = "POST";
    post.url = Base(state->url) + (switchover ? "/switchover" : "/failover");
    post.headers.push_back("Content-Type: application/json");
    json body{{"candidate", candidate}};
    if (switchover) body["leader"] = state->leader;
    post.body = body.dump();
    const auto sent = client.Send(post);
    const std::string what = std::string(switchover ? "switchover" : "failover") + " to " +
                             candidate + " (" + http::RedactUrl(post.url) + ")";
    if (!sent.ok())
      return core::Status::IOError("Patroni " + what + ": " + sent.status().message());
    if (sent->status != 200) {
      return core::Status::IOError("Patroni refused the " + what + ": " + Said(*sent));
    }
    // Patroni's 200 says the key moved; the candidate must also run as leader.
    while (true) {
      for (const std::string& url : urls) {
        const auto now = GetCluster(client, api, url, candidate, deadline);
        if (!now) continue;
        if (now->leader == candidate) return core::Status::OK();
        break;
      }
      if (Clock::now() + std::chrono::milliseconds(500) >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return core::Status::Timeout("Patroni accepted the " + what + " (" + Said(*sent) +
                                 ") but /cluster did not show " + candidate +
                                 " as the running leader by the deadline");
  }
};

}  // namespace

const FailoverProvider& PatroniProvider() {
  static const Patroni provider;
  return provider;
}

}  // namespace pgdr::actions

#include "app/cnpg_poller.h"

#include <condition_variable>
#include <mutex>
#include <optional>

#include "app/cnpg_metrics.h"
#include "pgdr/core/log.h"
#include "pgdr/http/client.h"
#include "pgdr/http/kubernetes.h"

namespace pgdr::app {
namespace {

std::optional<std::string> List(http::Client& client, const http::KubernetesApi& api,
                                const std::string& path, std::chrono::milliseconds timeout) {
  auto r = http::KubernetesRequest(client, api, "GET", path, timeout);
  if (!r.ok()) {
    core::Log(core::LogLevel::kDebug, "cnpg list failed",
              {{"path", path}, {"err", r.status().message()}});
    return std::nullopt;
  }
  if (r->status != 200 || r->truncated) {
    const std::string code = std::to_string(r->status);
    core::Log(core::LogLevel::kDebug, "cnpg list failed", {{"path", path}, {"status", code}});
    return std::nullopt;
  }
  return std::move(r->body);
}

CnpgPoll PollOnce(const std::string& key, const config::CnpgSourceConfig& source,
                  const http::KubernetesApi& api, http::Client& client) {
  core::MetricSet metrics;
  std::optional<std::vector<DiscoveredMember>> members;
  if (source.target_template) members.emplace();
  for (const auto& ns : source.namespaces) {
    const std::string base = "/apis/postgresql.cnpg.io/v1/namespaces/" + ns;
    CnpgNamespaceAnswer answer{ns, List(client, api, base + "/clusters", source.timeout),
                               std::nullopt};
    if (answer.clusters) answer.backups = List(client, api, base + "/backups", source.timeout);
    AddCnpgMetrics(source, answer, metrics);
    if (!members) continue;
    if (const auto found = CnpgInstances(source, answer)) {
      members->insert(members->end(), found->begin(), found->end());
    } else {
      members.reset();
    }
  }
  return {key, metrics.Take(), std::move(members)};
}

}  // namespace

CnpgPoller::CnpgPoller(std::vector<config::CnpgSourceConfig> sources, const Sink& sink)
    : sources_(std::move(sources)), running_(sources_.size()) {
  for (size_t i = 0; i < sources_.size(); ++i) {
    const config::CnpgSourceConfig* s = &sources_[i];
    const std::string key = CnpgSourceKey(i);
    threads_.emplace_back([this, s, key, sink](const std::stop_token& stop) {
      const http::KubernetesApi api =
          http::InClusterDefaults({s->api_url, s->bearer_token_file, s->tls_ca_file});
      http::Client client;
      std::mutex mu;
      std::condition_variable_any cv;
      while (!stop.stop_requested()) {
        const auto started = std::chrono::steady_clock::now();
        sink(PollOnce(key, *s, api, client));
        std::unique_lock lock(mu);
        cv.wait_until(lock, stop, started + s->interval, [] { return false; });
      }
      running_.fetch_sub(1);
    });
  }
}

void CnpgPoller::RequestStop() {
  for (auto& t : threads_) t.request_stop();
}

CnpgPoller::~CnpgPoller() {
  RequestStop();
  threads_.clear();  // joins
}

}  // namespace pgdr::app

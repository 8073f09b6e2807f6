#include "app/patroni_poller.h"

#include <condition_variable>
#include <mutex>
#include <optional>

#include "app/patroni_metrics.h"
#include "pgdr/http/client.h"

namespace pgdr::app {
namespace {

std::optional<std::string> Get(http::Client& client, const std::string& url,
                               std::chrono::milliseconds timeout) {
  http::ClientRequest req;
  req.url = url;
  req.timeout = timeout;
  auto r = client.Send(req);
  if (!r.ok() || r->status != 200 || r->truncated) return std::nullopt;
  return std::move(r->body);
}

PatroniPoll PollOnce(const config::PatroniSourceConfig& source,
                     std::vector<http::Client>& clients) {
  std::vector<PatroniMemberAnswer> answers;
  std::optional<std::string> cluster_body;
  for (size_t i = 0; i < source.urls.size(); ++i) {
    const std::string& base = source.urls[i];
    PatroniMemberAnswer a{http::RedactUrl(base),
                          Get(clients[i], base + "/patroni", source.timeout)};
    if (a.body && !cluster_body) cluster_body = Get(clients[i], base + "/cluster", source.timeout);
    answers.push_back(std::move(a));
  }
  core::MetricSet metrics;
  AddPatroniMetrics(source.cluster, answers, cluster_body, metrics);
  PatroniPoll poll{source.cluster, metrics.Take(), {}, std::nullopt};
  poll.state.manager = "patroni";
  poll.state.polled = true;
  poll.state.polled_at = std::chrono::system_clock::now();
  if (cluster_body) {
    if (std::optional<PatroniClusterView> view = ParsePatroniCluster(*cluster_body)) {
      poll.state.answered = true;
      poll.state.paused = view->paused;
      poll.state.leader = view->leader;
      poll.members = std::move(view->members);
    }
  }
  return poll;
}

}  // namespace

PatroniPoller::PatroniPoller(std::vector<config::PatroniSourceConfig> sources, const Sink& sink)
    : sources_(std::move(sources)), running_(sources_.size()) {
  for (const auto& source : sources_) {
    const config::PatroniSourceConfig* s = &source;
    threads_.emplace_back([this, s, sink](const std::stop_token& stop) {
      std::vector<http::Client> clients(s->urls.size());  // one connection per member API
      std::mutex mu;
      std::condition_variable_any cv;
      while (!stop.stop_requested()) {
        const auto started = std::chrono::steady_clock::now();
        sink(PollOnce(*s, clients));
        std::unique_lock lock(mu);
        cv.wait_until(lock, stop, started + s->interval, [] { return false; });
      }
      running_.fetch_sub(1);
    });
  }
}

void PatroniPoller::RequestStop() {
  for (auto& t : threads_) t.request_stop();
}

PatroniPoller::~PatroniPoller() {
  RequestStop();
  threads_.clear();  // joins
}

}  // namespace pgdr::app

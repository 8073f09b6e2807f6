// PatroniPoller: one thread per `discovery.patroni` cluster, polling every
// member's GET /patroni and one member's GET /cluster (the first that
// answers) each `interval`, off the /metrics path like the store pollers: a
// hung member API costs its own thread a timeout, never a scrape. Each poll
// also carries what the failover guards and the target discovery need from
// /cluster: the manager state (answered, paused, leader) and the members.
//
// A reload retires a poller with RequestStop() and keeps it until
// Finished(), as the store pollers are (see store_poller.h).
//
// Thread-safety: construct, RequestStop, Finished and destroy from one
// thread at a time; the sink is called from the pollers' threads and must be
// thread-safe and quick.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "app/patroni_discovery.h"
#include "pgdr/collect/snapshot.h"
#include "pgdr/config/config.h"
#include "pgdr/core/metric_set.h"

namespace pgdr::app {

struct PatroniPoll {
  std::string cluster;
  std::vector<prometheus::MetricFamily> families;
  collect::ManagerState state;  // what the failover guards read
  // The members in /cluster; unset when no member answered it (the
  // targets discovered before are kept: an outage of Patroni's API is not
  // a change of membership).
  std::optional<std::vector<DiscoveredMember>> members;
};

class PatroniPoller {
 public:
  using Sink = std::function<void(PatroniPoll)>;

  PatroniPoller(std::vector<config::PatroniSourceConfig> sources, const Sink& sink);
  ~PatroniPoller();  // stops and joins
  PatroniPoller(const PatroniPoller&) = delete;
  PatroniPoller& operator=(const PatroniPoller&) = delete;

  void RequestStop();
  bool Finished() const { return running_.load() == 0; }

 private:
  std::vector<config::PatroniSourceConfig> sources_;
  std::atomic<size_t> running_{0};
  std::vector<std::jthread> threads_;
};

}  // namespace pgdr::app

// CnpgPoller: one thread per `discovery.cnpg` entry, listing the Cluster and
// Backup objects of each of its namespaces through the Kubernetes API each
// `interval`, off the /metrics path like the Patroni and store pollers: a
// slow API server costs its own thread a timeout, never a scrape. Each poll
// is the entry's pgdr_cnpg_* series (cnpg_metrics.h), the discovered
// targets among them, and with `targets:` the instances to collect.
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
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/discovery.h"
#include "pgdr/config/config.h"
#include "pgdr/core/metric_set.h"

namespace pgdr::app {

struct CnpgPoll {
  std::string source;  // CnpgSourceKey: the entry's key among the polls and discoveries
  std::vector<prometheus::MetricFamily> families;
  // The instances of the entry's Clusters (CnpgInstances), when it has
  // `targets:`; unset when a namespace's Cluster list did not answer (the
  // targets discovered before are kept: an API outage is not a change of
  // membership).
  std::optional<std::vector<DiscoveredMember>> members;
};

class CnpgPoller {
 public:
  using Sink = std::function<void(CnpgPoll)>;

  CnpgPoller(std::vector<config::CnpgSourceConfig> sources, const Sink& sink);
  ~CnpgPoller();  // stops and joins
  CnpgPoller(const CnpgPoller&) = delete;
  CnpgPoller& operator=(const CnpgPoller&) = delete;

  void RequestStop();
  bool Finished() const { return running_.load() == 0; }

 private:
  std::vector<config::CnpgSourceConfig> sources_;
  std::atomic<size_t> running_{0};
  std::vector<std::jthread> threads_;
};

}  // namespace pgdr::app

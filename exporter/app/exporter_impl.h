// Exporter::Impl: the wiring of the running service and the threads it owns
// (see exporter.h for the data flow). exporter.cc holds the thread loops,
// reload.cc the start and reload orchestration.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "app/cnpg_poller.h"
#include "app/exporter.h"
#include "app/http_routes.h"
#include "app/patroni_poller.h"
#include "app/state_file.h"
#include "app/store_poller.h"
#include "app/web_config_watcher.h"
#include "pgdr/actions/engine.h"
#include "pgdr/actions/read_pools.h"
#include "pgdr/collect/collection_loop.h"
#include "pgdr/collect/snapshot.h"
#include "pgdr/config/config.h"
#include "pgdr/core/mutex.h"
#include "pgdr/http/server.h"
#include "pgdr/leader/leader_election.h"
#include "pgdr/restore/drills.h"
#include "pgdr/rules/manager.h"
#include "pgdr/tsdb/tsdb.h"

namespace pgdr::app {

// Threads: the collection thread (loop_->Run), one thread per backup store
// (stores_), the composer, the evaluator, the HTTP workers, and whichever
// thread calls Start/Reload/Stop (main on SIGHUP, an HTTP worker on
// POST /-/reload).
//
// Lock order: reload_mu_ before eval_mu_ before state_mu_ before engines_mu_. mu_ and
// engines_mu_ are leaves: nothing else is locked while either is held (the
// composer and evaluator copy what they need under mu_ and release it before
// calling Rules()/Actions()). The collection and store threads only ever
// take mu_, in their sinks, so a reload never waits for them.
class Exporter::Impl {
 public:
  explicit Impl(ExporterOptions options);

  core::Status Start() PGDR_EXCLUDES(reload_mu_);
  core::Status Reload() PGDR_EXCLUDES(reload_mu_);
  // Re-applies the config file with the members Patroni and CNPG list now
  // (a membership change seen by a poll); an invalid file keeps the running
  // config, as a reload does.
  void Rediscover() PGDR_EXCLUDES(reload_mu_, mu_);
  void Stop() PGDR_EXCLUDES(reload_mu_);

 private:
  // reload.cc: applying a validated config.
  void Apply(const config::Config& config,
             std::vector<std::unique_ptr<store::BackupMonitor>> monitors) PGDR_REQUIRES(reload_mu_);
  void InstallRules(const config::Config& config, std::vector<rules::GroupSpec> groups)
      PGDR_REQUIRES(reload_mu_);
  void SwapActions(std::unique_ptr<actions::ActionEngine> engine) PGDR_REQUIRES(reload_mu_);
  void SwapReadPools(const config::Config& config) PGDR_REQUIRES(reload_mu_);
  void StopCollection() PGDR_REQUIRES(reload_mu_);

  // state.cc: the state file under --storage.path (app/state_file.h).
  // RestoreState runs once at Start, before the evaluator; SaveState writes
  // the file when what it holds changed (the evaluator calls it every tick,
  // a maintenance POST right away).
  void RestoreState() PGDR_EXCLUDES(state_mu_);
  void SaveState() PGDR_EXCLUDES(state_mu_);

  // exporter.cc: the threads' loops and the sinks feeding them.
  std::shared_ptr<rules::RuleManager> Rules() const PGDR_EXCLUDES(engines_mu_);
  std::shared_ptr<actions::ActionEngine> Actions() const PGDR_EXCLUDES(engines_mu_);
  std::shared_ptr<actions::ReadPools> ReadPoolsNow() const PGDR_EXCLUDES(engines_mu_);
  void EvaluateLoop() PGDR_EXCLUDES(mu_, eval_mu_);
  void ComposeLoop() PGDR_EXCLUDES(mu_);
  void AppendToTsdb(const collect::SnapshotInputs& inputs, const collect::Snapshot& snapshot,
                    const std::map<std::string, std::shared_ptr<const StorePoll>>& polls,
                    const std::map<std::string, std::shared_ptr<const PatroniPoll>>& patroni,
                    const std::map<std::string, std::shared_ptr<const CnpgPoll>>& cnpg,
                    const std::vector<prometheus::MetricFamily>* self);
  void OnStorePoll(uint64_t generation, StorePoll poll) PGDR_EXCLUDES(mu_);
  void OnPatroniPoll(uint64_t generation, PatroniPoll poll) PGDR_EXCLUDES(mu_);
  void OnCnpgPoll(uint64_t generation, CnpgPoll poll) PGDR_EXCLUDES(mu_);
  // Keeps the members a poll of discovery source `source` listed (unset:
  // not answered) when it has `targets:`; a change sets discovery_pending_.
  void NoteMembers(const std::string& source,
                   const std::optional<std::vector<DiscoveredMember>>& members) PGDR_REQUIRES(mu_);
  void OnTargetResult(std::shared_ptr<const collect::TargetResult> r) PGDR_EXCLUDES(mu_);
  std::vector<prometheus::MetricFamily> CurrentSelfMetrics() PGDR_EXCLUDES(mu_);
  // Whether every member of the first config applied has delivered a result
  // (its first cycle, or its deadline as down).
  bool FirstCyclesDone() const PGDR_REQUIRES(mu_);
  void Route();

  const ExporterOptions options_;
  tsdb::Tsdb tsdb_;
  http::HttpServer http_;
  std::unique_ptr<WebConfigWatcher> web_;  // set before Start() when --web.config.file
  collect::SnapshotStore snapshots_;

  // `leader_election:`: set once in Start before any other thread runs, then
  // only read (a reload keeps it: a change applies at restart). Null: this
  // replica always acts. Stopped after the action engine, releasing the lease.
  std::shared_ptr<leader::LeaderElector> leader_;

  core::Mutex reload_mu_;  // one Start/Reload/Stop at a time
  std::optional<config::LeaderElectionConfig> leader_config_ PGDR_GUARDED_BY(reload_mu_);
  rules::ManagerOptions rules_options_ PGDR_GUARDED_BY(reload_mu_);
  std::unique_ptr<collect::CollectionLoop> loop_ PGDR_GUARDED_BY(reload_mu_);
  std::thread collector_ PGDR_GUARDED_BY(reload_mu_);
  std::unique_ptr<StorePoller> stores_ PGDR_GUARDED_BY(reload_mu_);
  // Pollers of earlier configs whose last poll may still be in flight;
  // dropped once Finished(), joined by Stop().
  std::vector<std::unique_ptr<StorePoller>> retired_stores_ PGDR_GUARDED_BY(reload_mu_);
  std::unique_ptr<PatroniPoller> patroni_ PGDR_GUARDED_BY(reload_mu_);
  std::vector<config::PatroniSourceConfig> patroni_sources_ PGDR_GUARDED_BY(reload_mu_);
  std::vector<std::unique_ptr<PatroniPoller>> retired_patroni_ PGDR_GUARDED_BY(reload_mu_);
  std::unique_ptr<CnpgPoller> cnpg_ PGDR_GUARDED_BY(reload_mu_);
  std::vector<config::CnpgSourceConfig> cnpg_sources_ PGDR_GUARDED_BY(reload_mu_);
  std::vector<std::unique_ptr<CnpgPoller>> retired_cnpg_ PGDR_GUARDED_BY(reload_mu_);
  std::atomic<double> reload_failures_{0};
  std::atomic<double> state_load_failures_{0};
  std::atomic<double> state_write_failures_{0};
  RefusedRequests refused_;

  core::Mutex eval_mu_;  // one evaluation at a time; engines swapped between them
  // One SaveState at a time; what was last written, and when.
  core::Mutex state_mu_;
  std::optional<PersistedState> state_written_ PGDR_GUARDED_BY(state_mu_);
  std::chrono::system_clock::time_point state_written_at_ PGDR_GUARDED_BY(state_mu_);
  bool state_write_failing_ PGDR_GUARDED_BY(state_mu_) = false;  // logged once per outage
  mutable core::Mutex engines_mu_;
  std::shared_ptr<rules::RuleManager> rules_ PGDR_GUARDED_BY(engines_mu_);
  std::shared_ptr<actions::ActionEngine> actions_ PGDR_GUARDED_BY(engines_mu_);
  // Fed every snapshot by the composer; its own thread repoints PgBouncers.
  std::shared_ptr<actions::ReadPools> read_pools_ PGDR_GUARDED_BY(engines_mu_);

  // Restore drills: their own thread, one drill at a time; read by the
  // composer (metrics) and HTTP workers (/api/v1/drills), internally locked.
  restore::DrillRunner drills_;

  std::thread evaluator_;
  std::thread composer_;
  std::map<std::string, const void*> appended_;  // composer thread only
  int64_t composed_at_ms_ = 0;  // the last composition's TSDB timestamp; composer thread only
  collect::SnapshotComposer composer_state_;  // composer thread only

  core::Mutex mu_;
  std::condition_variable_any cv_;  // waited on with mu_ held
  std::map<std::string, std::shared_ptr<const collect::TargetResult>> results_ PGDR_GUARDED_BY(mu_);
  std::set<std::string> result_keys_ PGDR_GUARDED_BY(mu_);  // members of the running config
  std::map<std::string, std::shared_ptr<const StorePoll>> store_polls_ PGDR_GUARDED_BY(mu_);
  // Latest pgdr_patroni_* of each discovery.patroni cluster.
  std::map<std::string, std::shared_ptr<const PatroniPoll>> patroni_polls_ PGDR_GUARDED_BY(mu_);
  // Latest pgdr_cnpg_* of each discovery.cnpg entry.
  std::map<std::string, std::shared_ptr<const CnpgPoll>> cnpg_polls_ PGDR_GUARDED_BY(mu_);
  uint64_t store_generation_ PGDR_GUARDED_BY(mu_) = 0;    // polls of older pollers are dropped
  uint64_t patroni_generation_ PGDR_GUARDED_BY(mu_) = 0;  // the same for Patroni pollers
  uint64_t cnpg_generation_ PGDR_GUARDED_BY(mu_) = 0;     // and for CNPG pollers
  // The members each discovery source with `targets:` (a Patroni cluster, a
  // CNPG entry) listed in its last answered poll, by source key; a change
  // sets discovery_pending_, which the evaluator thread applies
  // (Rediscover) before its next tick.
  DiscoveredMembers discovered_ PGDR_GUARDED_BY(mu_);
  std::set<std::string> discovering_ PGDR_GUARDED_BY(mu_);  // source keys with `targets:`
  bool discovery_pending_ PGDR_GUARDED_BY(mu_) = false;
  size_t target_count_ PGDR_GUARDED_BY(mu_) = 0;
  std::chrono::system_clock::time_point last_reload_ PGDR_GUARDED_BY(mu_);
  // A config has been applied (result_keys_ is meaningful).
  bool applied_ PGDR_GUARDED_BY(mu_) = false;
  // The first snapshot is out; later ones are never held back.
  bool published_ PGDR_GUARDED_BY(mu_) = false;
  bool dirty_ PGDR_GUARDED_BY(mu_) = false;
  bool stopping_ PGDR_GUARDED_BY(mu_) = false;
};

}  // namespace pgdr::app

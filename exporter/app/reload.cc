// Start and reload orchestration of Exporter::Impl: validate everything
// first (LoadAndValidate), then swap the rules, the action engine, the
// collection loop's members and the store pollers over to the new config.

#include <pthread.h>
#include <unistd.h>

#include <algorithm>

#include "app/exporter_impl.h"
#include "app/sharding.h"
#include "app/status_page.h"
#include "app/validated_config.h"
#include "pgdr/core/log.h"

namespace pgdr::app {
namespace {

// What the TSDB keeps: the families the rules read, and the status page's
// sparkline families (the TSDB is fed only while rules run).
std::optional<std::set<std::string>> StoredFamilies(const rules::RuleManager& rules) {
  auto names = rules.SelectedMetricNames();
  if (names) names->insert(ConsoleHistoryFamilies().begin(), ConsoleHistoryFamilies().end());
  return names;
}

// The validated config, reduced to this replica's shard of the fleet.
// `discovered`: the members Patroni and CNPG listed last, made targets of
// the sources whose discovery entry still asks for them.
core::Result<ValidatedConfig> LoadOwnShard(const ExporterOptions& options,
                                           const DiscoveredMembers& discovered) {
  auto validated = LoadAndValidate(options.config_file, discovered);
  if (validated.ok() && options.shard.total > 1) {
    core::Log(core::LogLevel::kInfo, "sharding", {{"keep", KeepShard(*validated, options.shard)}});
  }
  return validated;
}

}  // namespace

std::string DefaultExternalUrl(const std::string& listen_address) {
  const size_t colon = listen_address.rfind(':');
  std::string host = colon == std::string::npos ? listen_address : listen_address.substr(0, colon);
  const std::string port = colon == std::string::npos ? "" : listen_address.substr(colon);
  if (host.empty() || host == "0.0.0.0" || host == "[::]") {
    char name[256] = {};
    host = gethostname(name, sizeof name - 1) == 0 && name[0] != 0 ? name : "localhost";
  }
  return "http://" + host + port;
}

core::Status Exporter::Impl::Start() {
  const core::MutexLock reload_lock(reload_mu_);
  auto validated = LoadOwnShard(options_, {});
  if (!validated.ok()) return validated.status();
  InstallRules(validated->config, std::move(validated->rule_groups));
  leader_config_ = validated->config.leader_election;
  if (leader_config_) {
    leader_ = leader::LeaderElector::Create(*leader_config_);
    leader_->Start();
    core::Log(core::LogLevel::kInfo, "leader election: only the lease holder acts",
              {{"backend", leader_->backend()},
               {"lock", leader_->lock()},
               {"identity", leader_config_->identity}});
  }
  SwapActions(std::move(validated->engine));
  SwapReadPools(validated->config);
  RestoreState();
  Route();
  if (!options_.web_config_file.empty()) {
    web_ = std::make_unique<WebConfigWatcher>(options_.web_config_file, http_);
    if (core::Status s = web_->Load(); !s.ok()) return s;
  }
  if (core::Status s = http_.Start(options_.listen_address); !s.ok()) return s;
  if (web_) web_->Start();
  // Named for profiles and the bench's per-thread allocation counts.
  composer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "pgdr-compose");
    ComposeLoop();
  });
  evaluator_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "pgdr-evaluate");
    EvaluateLoop();
  });
  Apply(validated->config, std::move(validated->monitors));
  drills_.Update(std::move(validated->drills));
  core::Log(core::LogLevel::kInfo, "pgdr_exporter started",
            {{"listen", options_.listen_address},
             {"config", options_.config_file},
             {"version", options_.version}});
  return core::Status::OK();
}

core::Status Exporter::Impl::Reload() {
  if (web_) web_->Poke();  // applied on the watcher's thread
  const core::MutexLock reload_lock(reload_mu_);
  DiscoveredMembers discovered;
  {
    const core::MutexLock lock(mu_);
    discovered = discovered_;
  }
  auto validated = LoadOwnShard(options_, discovered);
  if (!validated.ok()) {
    reload_failures_ += 1;
    core::Log(core::LogLevel::kError, "reload failed; keeping the running config",
              {{"err", validated.status().message()}});
    {
      const core::MutexLock lock(mu_);
      dirty_ = true;
    }
    cv_.notify_all();
    return validated.status();
  }
  InstallRules(validated->config, std::move(validated->rule_groups));
  if (validated->config.leader_election != leader_config_) {
    core::Log(core::LogLevel::kWarn,
              "leader_election changed: the running election is kept until a restart",
              {{"config", options_.config_file}});
  }
  SwapActions(std::move(validated->engine));
  SwapReadPools(validated->config);
  Apply(validated->config, std::move(validated->monitors));
  drills_.Update(std::move(validated->drills));
  core::Log(core::LogLevel::kInfo, "config reloaded", {{"config", options_.config_file}});
  return core::Status::OK();
}

void Exporter::Impl::Rediscover() {
  const core::MutexLock reload_lock(reload_mu_);
  DiscoveredMembers discovered;
  {
    const core::MutexLock lock(mu_);
    discovery_pending_ = false;
    discovered = discovered_;
  }
  auto validated = LoadOwnShard(options_, discovered);
  if (!validated.ok()) {
    core::Log(core::LogLevel::kError,
              "discovery: the config file does not load; keeping the running targets",
              {{"err", validated.status().message()}});
    return;
  }
  // Names only: a discovered target's DSN may carry a user, never printed.
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& [source, members] : discovered) {
    std::string names;
    for (const DiscoveredMember& m : members) {
      names += (names.empty() ? "" : ",") + (m.cluster.empty() ? "" : m.cluster + "/") + m.name;
    }
    fields.emplace_back(source, names);
  }
  InstallRules(validated->config, std::move(validated->rule_groups));
  SwapActions(std::move(validated->engine));
  SwapReadPools(validated->config);
  Apply(validated->config, std::move(validated->monitors));
  drills_.Update(std::move(validated->drills));
  core::Log(core::LogLevel::kInfo, "discovery: membership changed, targets applied", fields);
}

// Neither waits for a member's cycle nor for a store poll in flight: the
// collection loop takes the new members at its next wake-up (unchanged ones
// keep their connection), and the old store pollers are retired, not
// joined. Their late results are dropped by the sinks.
void Exporter::Impl::Apply(const config::Config& config,
                           std::vector<std::unique_ptr<store::BackupMonitor>> monitors) {
  uint64_t generation = 0;
  uint64_t patroni_generation = 0;  // set when the Patroni pollers are replaced
  uint64_t cnpg_generation = 0;     // and the CNPG pollers
  {
    const core::MutexLock lock(mu_);
    result_keys_.clear();
    for (const auto& t : config.targets) result_keys_.insert(t.Key());
    for (const auto& b : config.pgbouncers) result_keys_.insert("pooler/" + b.name);
    for (auto it = results_.begin(); it != results_.end();) {
      it = result_keys_.count(it->first) == 0 ? results_.erase(it) : std::next(it);
    }
    store_polls_.clear();
    generation = ++store_generation_;
    discovering_.clear();
    for (const auto& p : config.patroni) {
      if (p.target_template) discovering_.insert(PatroniSourceKey(p.cluster));
    }
    for (size_t i = 0; i < config.cnpg.size(); ++i) {
      if (config.cnpg[i].target_template) discovering_.insert(CnpgSourceKey(i));
    }
    for (auto it = discovered_.begin(); it != discovered_.end();) {
      it = discovering_.count(it->first) == 0 ? discovered_.erase(it) : std::next(it);
    }
    if (config.patroni != patroni_sources_) {
      patroni_polls_.clear();
      patroni_generation = ++patroni_generation_;
    }
    if (config.cnpg != cnpg_sources_) {
      cnpg_polls_.clear();
      cnpg_generation = ++cnpg_generation_;
      // Keyed by position in discovery.cnpg: what an entry listed is not another's.
      std::erase_if(discovered_, [](const auto& d) { return d.first.starts_with("cnpg/"); });
    }
    target_count_ = config.targets.size();
    last_reload_ = std::chrono::system_clock::now();
    applied_ = true;
    dirty_ = true;
  }
  if (loop_) {
    loop_->Reconfigure(config);
  } else {
    loop_ = std::make_unique<collect::CollectionLoop>(
        config,
        [this](std::shared_ptr<const collect::TargetResult> r) { OnTargetResult(std::move(r)); });
    collect::CollectionLoop* loop = loop_.get();
    collector_ = std::thread([loop] {
      pthread_setname_np(pthread_self(), "pgdr-collect");
      loop->Run();
    });
  }
  if (stores_) {
    stores_->RequestStop();
    retired_stores_.push_back(std::move(stores_));
  }
  std::erase_if(retired_stores_, [](const auto& p) { return p->Finished(); });
  stores_ = std::make_unique<StorePoller>(std::move(monitors), [this, generation](StorePoll poll) {
    OnStorePoll(generation, std::move(poll));
  });
  // Unchanged Patroni sources keep their pollers and latest polls: the
  // guards must never see a Patroni cluster as unpolled because of a reload
  // (or of the re-application a membership change makes).
  std::erase_if(retired_patroni_, [](const auto& p) { return p->Finished(); });
  if (!patroni_ || config.patroni != patroni_sources_) {
    if (patroni_) {
      patroni_->RequestStop();
      retired_patroni_.push_back(std::move(patroni_));
    }
    patroni_sources_ = config.patroni;
    patroni_ = std::make_unique<PatroniPoller>(config.patroni,
                                               [this, patroni_generation](PatroniPoll poll) {
                                                 OnPatroniPoll(patroni_generation, std::move(poll));
                                               });
  }
  // The same for CNPG entries: a re-application of discovered instances
  // keeps polling where it was.
  std::erase_if(retired_cnpg_, [](const auto& p) { return p->Finished(); });
  if (!cnpg_ || config.cnpg != cnpg_sources_) {
    if (cnpg_) {
      cnpg_->RequestStop();
      retired_cnpg_.push_back(std::move(cnpg_));
    }
    cnpg_sources_ = config.cnpg;
    cnpg_ = std::make_unique<CnpgPoller>(config.cnpg, [this, cnpg_generation](CnpgPoll poll) {
      OnCnpgPoll(cnpg_generation, std::move(poll));
    });
  }
  cv_.notify_all();
}

void Exporter::Impl::StopCollection() {
  if (loop_) loop_->Stop();
  if (collector_.joinable()) collector_.join();
  loop_.reset();
  stores_.reset();
  retired_stores_.clear();  // joins polls still in flight
  patroni_.reset();
  retired_patroni_.clear();
  cnpg_.reset();
  retired_cnpg_.clear();
}

// Installs the parsed rule groups into the running manager (keeping alert
// state), or into a new one when the evaluation settings changed.
void Exporter::Impl::InstallRules(const config::Config& config,
                                  std::vector<rules::GroupSpec> groups) {
  rules::ManagerOptions options;
  options.default_interval_ms = config.evaluation_interval.count();
  options.external_labels = config.external_labels;
  options.external_url = options_.external_url.empty() ? DefaultExternalUrl(options_.listen_address)
                                                       : options_.external_url;
  auto running = Rules();
  const bool same = running && options.default_interval_ms == rules_options_.default_interval_ms &&
                    options.external_labels == rules_options_.external_labels;
  if (same) {
    running->Replace(std::move(groups));
    tsdb_.SetScrapeFilter(StoredFamilies(*running));
    return;
  }
  auto manager = std::make_shared<rules::RuleManager>(&tsdb_, options);
  manager->Replace(std::move(groups));
  tsdb_.SetScrapeFilter(StoredFamilies(*manager));
  const core::MutexLock eval_lock(eval_mu_);
  const core::MutexLock lock(engines_mu_);
  rules_ = std::move(manager);
  rules_options_ = options;
}

// Replaces the running action engine, carrying over its guards' memory,
// counters and manual maintenance windows.
void Exporter::Impl::SwapActions(std::unique_ptr<actions::ActionEngine> engine) {
  const core::MutexLock eval_lock(eval_mu_);
  if (auto old = Actions()) {
    old->Stop();
    engine->AdoptState(*old);
  }
  engine->SetActingGate(leader_);
  engine->Start();
  const core::MutexLock lock(engines_mu_);
  actions_ = std::move(engine);
}

// Replaces the read pools, keeping where each unchanged pool points.
void Exporter::Impl::SwapReadPools(const config::Config& config) {
  auto pools = std::make_shared<actions::ReadPools>(actions::ReadPoolTargets(config));
  if (auto old = ReadPoolsNow()) {
    old->Stop();
    pools->AdoptState(*old);
  }
  pools->Start();
  const core::MutexLock lock(engines_mu_);
  read_pools_ = std::move(pools);
}

}  // namespace pgdr::app

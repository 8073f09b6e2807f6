// Start and reload orchestration of Exporter::Impl: validate everything
// first (LoadAndValidate), then swap the rules, the action engine, the
// collection loop's members and the store pollers over to the new config.

#include <algorithm>

#include "app/exporter_impl.h"
#include "app/validated_config.h"
#include "pgdr/core/log.h"

namespace pgdr::app {

core::Status Exporter::Impl::Start() {
  std::lock_guard reload_lock(reload_mu_);
  auto validated = LoadAndValidate(options_.config_file);
  if (!validated.ok()) return validated.status();
  if (core::Status s = LoadRules(validated->config); !s.ok()) return s;
  SwapActions(std::move(validated->engine));
  Route();
  if (core::Status s = http_.Start(options_.listen_address); !s.ok()) return s;
  composer_ = std::thread([this] { ComposeLoop(); });
  evaluator_ = std::thread([this] { EvaluateLoop(); });
  Apply(validated->config, std::move(validated->monitors));
  drills_.Update(std::move(validated->drills));
  core::Log(core::LogLevel::kInfo, "pgdr_exporter started",
            {{"listen", options_.listen_address},
             {"config", options_.config_file},
             {"version", options_.version}});
  return core::Status::OK();
}

core::Status Exporter::Impl::Reload() {
  std::lock_guard reload_lock(reload_mu_);
  auto validated = LoadAndValidate(options_.config_file);
  core::Status s = validated.ok() ? LoadRules(validated->config) : validated.status();
  if (!s.ok()) {
    reload_failures_ += 1;
    core::Log(core::LogLevel::kError, "reload failed; keeping the running config",
              {{"err", s.message()}});
    {
      std::lock_guard lock(mu_);
      dirty_ = true;
    }
    cv_.notify_all();
    return s;
  }
  SwapActions(std::move(validated->engine));
  Apply(validated->config, std::move(validated->monitors));
  drills_.Update(std::move(validated->drills));
  core::Log(core::LogLevel::kInfo, "config reloaded", {{"config", options_.config_file}});
  return core::Status::OK();
}

// Neither waits for a member's cycle nor for a store poll in flight: the
// collection loop takes the new members at its next wake-up (unchanged ones
// keep their connection), and the old store pollers are retired, not
// joined. Their late results are dropped by the sinks.
void Exporter::Impl::Apply(const config::Config& config,
                           std::vector<std::unique_ptr<store::BackupMonitor>> monitors) {
  uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    result_keys_.clear();
    for (const auto& t : config.targets) result_keys_.insert(t.Key());
    for (const auto& b : config.pgbouncers) result_keys_.insert("pooler/" + b.name);
    std::erase_if(results_, [&](const auto& r) { return result_keys_.count(r.first) == 0; });
    store_polls_.clear();
    generation = ++store_generation_;
    target_count_ = config.targets.size();
    last_reload_ = std::chrono::system_clock::now();
    dirty_ = true;
  }
  if (loop_) {
    loop_->Reconfigure(config);
  } else {
    loop_ = std::make_unique<collect::CollectionLoop>(
        config,
        [this](std::shared_ptr<const collect::TargetResult> r) { OnTargetResult(std::move(r)); });
    collector_ = std::thread([this] { loop_->Run(); });
  }
  if (stores_) {
    stores_->RequestStop();
    retired_stores_.push_back(std::move(stores_));
  }
  std::erase_if(retired_stores_, [](const auto& p) { return p->Finished(); });
  stores_ = std::make_unique<StorePoller>(std::move(monitors), [this, generation](StorePoll poll) {
    OnStorePoll(generation, std::move(poll));
  });
  cv_.notify_all();
}

void Exporter::Impl::StopCollection() {
  if (loop_) loop_->Stop();
  if (collector_.joinable()) collector_.join();
  loop_.reset();
  stores_.reset();
  retired_stores_.clear();  // joins polls still in flight
}

// Loads the rule files into the running manager (keeping alert state), or
// into a new one when the evaluation settings changed. On error the
// running rules are untouched.
core::Status Exporter::Impl::LoadRules(const config::Config& config) {
  rules::ManagerOptions options;
  options.default_interval_ms = config.evaluation_interval.count();
  options.external_labels = config.external_labels;
  options.external_url = "http://" + options_.listen_address;
  auto running = Rules();
  const bool same = running && options.default_interval_ms == rules_options_.default_interval_ms &&
                    options.external_labels == rules_options_.external_labels;
  if (same) {
    core::Status s = running->Load(config.rule_files);
    if (s.ok()) tsdb_.SetScrapeFilter(running->SelectedMetricNames());
    return s;
  }
  auto manager = std::make_shared<rules::RuleManager>(&tsdb_, options);
  if (core::Status s = manager->Load(config.rule_files); !s.ok()) return s;
  tsdb_.SetScrapeFilter(manager->SelectedMetricNames());
  std::lock_guard eval_lock(eval_mu_);
  std::lock_guard lock(engines_mu_);
  rules_ = std::move(manager);
  rules_options_ = options;
  return core::Status::OK();
}

// Replaces the running action engine, carrying over its guards' memory,
// counters and manual maintenance windows.
void Exporter::Impl::SwapActions(std::unique_ptr<actions::ActionEngine> engine) {
  std::lock_guard eval_lock(eval_mu_);
  if (auto old = Actions()) {
    old->Stop();
    engine->AdoptState(*old);
  }
  engine->Start();
  std::lock_guard lock(engines_mu_);
  actions_ = std::move(engine);
}

}  // namespace pgdr::app

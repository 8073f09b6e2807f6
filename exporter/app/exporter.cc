#include "app/exporter.h"

#include <algorithm>

#include "app/action_alerts.h"
#include "app/exporter_impl.h"
#include "app/http_routes.h"
#include "app/self_metrics.h"
#include "pgdr/core/log.h"

namespace pgdr::app {
namespace {

using SystemClock = std::chrono::system_clock;
using SteadyClock = std::chrono::steady_clock;

}  // namespace

Exporter::Impl::Impl(ExporterOptions options)
    : options_(std::move(options)), tsdb_(options_.tsdb) {}

void Exporter::Impl::Stop() {
  if (web_) web_->Stop();
  http_.Stop();
  {
    const core::MutexLock reload_lock(reload_mu_);
    StopCollection();
  }
  {
    const core::MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (composer_.joinable()) composer_.join();
  if (evaluator_.joinable()) evaluator_.join();
  if (auto engine = Actions()) engine->Stop();
  if (auto pools = ReadPoolsNow()) pools->Stop();
  if (leader_) leader_->Stop();  // after the engine: no action runs once the lease is released
}

std::shared_ptr<rules::RuleManager> Exporter::Impl::Rules() const {
  const core::MutexLock lock(engines_mu_);
  return rules_;
}

std::shared_ptr<actions::ReadPools> Exporter::Impl::ReadPoolsNow() const {
  const core::MutexLock lock(engines_mu_);
  return read_pools_;
}

std::shared_ptr<actions::ActionEngine> Exporter::Impl::Actions() const {
  const core::MutexLock lock(engines_mu_);
  return actions_;
}

void Exporter::Impl::Route() {
  HttpViews views;
  views.telemetry_path = options_.telemetry_path;
  views.version = options_.version;
  views.snapshot = [this] { return snapshots_.Latest(); };
  views.rules = [this] { return Rules(); };
  views.actions = [this] { return Actions(); };
  views.reload = [this] { return Reload(); };
  views.stores = [this] {
    std::vector<std::shared_ptr<const StorePoll>> polls;
    const core::MutexLock lock(mu_);
    for (const auto& [name, poll] : store_polls_) polls.push_back(poll);
    return polls;
  };
  views.history = &tsdb_;
  views.history_window = options_.tsdb.retention;
  views.drills = [this] { return drills_.Json(); };
  views.enable_lifecycle = options_.enable_lifecycle;
  views.enable_admin_api = options_.enable_admin_api;
  views.refused = &refused_;
  views.default_member = options_.web_member;
  views.read_pools = [this] {
    const auto pools = ReadPoolsNow();
    return pools ? pools->Views() : std::vector<actions::ReadPoolView>{};
  };
  views.state_changed = [this] { SaveState(); };
  RouteHttp(http_, views);
}

// Evaluates the rule groups that are due, then hands every alert and the
// latest snapshot to the action engine (which never blocks this thread).
// The engine is called when there is something new to decide on: a group
// was evaluated or a snapshot was published (its guards need fresh facts).
void Exporter::Impl::EvaluateLoop() {
  constexpr auto kTick = std::chrono::milliseconds(500);
  std::shared_ptr<const collect::Snapshot> decided_on;
  std::shared_ptr<actions::ActionEngine> decided_by;
  while (true) {
    bool rediscover = false;
    {
      core::MutexLock lock(mu_);
      const auto until = SteadyClock::now() + kTick;
      while (!stopping_) {
        if (cv_.wait_until(lock, until) == std::cv_status::timeout) break;
      }
      if (stopping_) return;
      rediscover = discovery_pending_;
    }
    if (rediscover) Rediscover();
    const core::MutexLock eval_lock(eval_mu_);
    auto rules = Rules();
    auto engine = Actions();
    const auto now = SystemClock::now();
    const int evaluated = rules->Tick(
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
    auto snapshot = snapshots_.Latest();
    if (evaluated != 0 || snapshot != decided_on || engine != decided_by) {
      engine->OnAlerts(ToActionAlerts(rules->Alerts(), engine->resend_delay_ms()), snapshot, now);
      decided_on = std::move(snapshot);
      decided_by = std::move(engine);
    }
    SaveState();
  }
}

// Feeds the local TSDB with every result not yet appended, at its own
// sample time (TargetResult::sample_at); sources that vanished get staleness
// markers, after any sample they have. Only the rule evaluator reads the TSDB: without rule groups
// nothing is stored (it was a third of the exporter's CPU and its largest memory), and a reload
// that adds rules starts filling it from then on.
void Exporter::Impl::AppendToTsdb(
    const collect::SnapshotInputs& inputs, const collect::Snapshot& snapshot,
    const std::map<std::string, std::shared_ptr<const StorePoll>>& polls,
    const std::map<std::string, std::shared_ptr<const PatroniPoll>>& patroni,
    const std::map<std::string, std::shared_ptr<const CnpgPoll>>& cnpg,
    const std::vector<prometheus::MetricFamily>* self) {
  if (auto rules = Rules(); !rules || rules->group_count() == 0) {
    appended_.clear();
    return;
  }
  const auto ms = [](SystemClock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  };
  // The other sources share the members' grid: they are timestamped at the
  // earliest member sample time not before the previous composition's (a
  // member that started late, off its tick, does not move them off the grid;
  // a later composition in the same period replaces the value at that
  // timestamp, the TSDB keeps the newest sample open) while it is recent,
  // else at the composition's time.
  constexpr int64_t kTickRecentMs = 2000;
  const int64_t now_ms = ms(inputs.now);
  int64_t tick = INT64_MAX;
  for (const auto& entry : inputs.targets) {
    const int64_t t = ms(entry.second->sample_at);
    if (t >= composed_at_ms_) tick = std::min(tick, t);
  }
  const int64_t t_ms = tick <= now_ms && now_ms - tick <= kTickRecentMs ? tick : now_ms;
  composed_at_ms_ = t_ms;
  std::map<std::string, const void*> seen;
  for (const auto& [key, result] : inputs.targets) {
    seen[key] = result.get();
    if (appended_[key] != result.get()) {
      std::vector<const std::vector<prometheus::MetricFamily>*> parts{&result->families};
      for (const auto& reused : result->reused) parts.push_back(reused.get());
      // Query results written as text are parsed back only here, with rules.
      std::vector<std::vector<prometheus::MetricFamily>> parsed;
      parsed.reserve(result->text_only.size());
      for (const auto& text : result->text_only) {
        parts.push_back(&parsed.emplace_back(collect::FamiliesFromText(*text)));
      }
      tsdb_.AppendScrapeParts(key, parts, ms(result->sample_at));
    }
  }
  for (const auto& [name, poll] : polls) {
    const std::string key = "store/" + name;
    seen[key] = poll.get();
    if (appended_[key] != poll.get()) tsdb_.AppendScrape(key, poll->families, t_ms);
  }
  for (const auto& [cluster, poll] : patroni) {
    const std::string key = "patroni/" + cluster;
    seen[key] = poll.get();
    if (appended_[key] != poll.get()) tsdb_.AppendScrape(key, poll->families, t_ms);
  }
  for (const auto& [key, poll] : cnpg) {
    seen[key] = poll.get();
    if (appended_[key] != poll.get()) tsdb_.AppendScrape(key, poll->families, t_ms);
  }
  tsdb_.AppendScrape("computed", snapshot.computed, t_ms);
  if (self != nullptr) tsdb_.AppendScrape("self", *self, t_ms);
  for (const auto& [key, ptr] : appended_) {
    if (seen.count(key) == 0) tsdb_.MarkSourceStale(key, ms(inputs.now));
  }
  appended_ = std::move(seen);
}

// A poll of a poller a reload retired (still in flight when it was retired)
// is dropped: its store may be gone or configured differently.
void Exporter::Impl::OnStorePoll(uint64_t generation, StorePoll poll) {
  {
    const core::MutexLock lock(mu_);
    if (generation != store_generation_) return;
    const std::string key = poll.store;
    store_polls_[key] = std::make_shared<const StorePoll>(std::move(poll));
    dirty_ = true;
  }
  cv_.notify_all();
}

void Exporter::Impl::NoteMembers(const std::string& source,
                                 const std::optional<std::vector<DiscoveredMember>>& members) {
  if (!members || discovering_.count(source) == 0) return;
  auto [it, added] = discovered_.try_emplace(source);
  if (added || it->second != *members) {
    it->second = *members;
    discovery_pending_ = true;
  }
}

// As OnPatroniPoll: a poll of a retired poller is dropped, a change of the
// instances of an entry with `targets:` is applied by the evaluator thread.
void Exporter::Impl::OnCnpgPoll(uint64_t generation, CnpgPoll poll) {
  {
    const core::MutexLock lock(mu_);
    if (generation != cnpg_generation_) return;
    const std::string key = poll.source;
    NoteMembers(key, poll.members);
    cnpg_polls_[key] = std::make_shared<const CnpgPoll>(std::move(poll));
    dirty_ = true;
  }
  cv_.notify_all();
}

// As OnStorePoll: a poll of a retired poller is dropped. A membership change of a cluster with
// `targets:` is applied by the evaluator thread (Rediscover): this thread must not wait for a
// reload, which may be retiring it.
void Exporter::Impl::OnPatroniPoll(uint64_t generation, PatroniPoll poll) {
  {
    const core::MutexLock lock(mu_);
    if (generation != patroni_generation_) return;
    const std::string key = poll.cluster;
    NoteMembers(PatroniSourceKey(key), poll.members);
    patroni_polls_[key] = std::make_shared<const PatroniPoll>(std::move(poll));
    dirty_ = true;
  }
  cv_.notify_all();
}

// The collection loop applies a reload at its next wake-up, so a cycle of a
// member the reload removed may still arrive: it is dropped.
void Exporter::Impl::OnTargetResult(std::shared_ptr<const collect::TargetResult> r) {
  if (!r->error.empty() && !r->facts.up) {
    core::Log(core::LogLevel::kDebug, "member down", {{"target", r->key}, {"err", r->error}});
  }
  {
    const core::MutexLock lock(mu_);
    if (result_keys_.count(r->key) == 0) return;
    results_[r->key] = std::move(r);
    dirty_ = true;
  }
  cv_.notify_all();
}

// Composes at most every kMinGap so that a fleet finishing cycles one by
// one costs a few compositions a second, not one per member, and kSettle
// after the first news, so that members finishing together (they start
// together, collect/collection_loop.cc) share one composition. The
// exporter's own metrics (process, rules, actions: a walk over the TSDB and
// /proc) are taken at most every kSelfEvery and reused in between.
//
// Nothing is published until every configured member and pooler has a
// result: its first cycle ended, with its metrics or, at its deadline, as
// down (pgdr_up 0). Until then /metrics and /-/ready answer 503, so the
// first scrape already has every member and series never appear one by one.
void Exporter::Impl::ComposeLoop() {
  constexpr auto kMinGap = std::chrono::milliseconds(200);
  constexpr auto kSettle = std::chrono::milliseconds(20);
  constexpr auto kSelfEvery = std::chrono::seconds(1);
  auto last = SteadyClock::now() - kMinGap;
  std::vector<prometheus::MetricFamily> self;
  auto self_at = SteadyClock::now() - kSelfEvery;
  // A reload (or a refused one) changes the self metrics at once.
  std::pair<SystemClock::time_point, double> self_config{};
  std::pair<SystemClock::time_point, double> config_now{};
  // Kept across compositions: assigning into them reuses their nodes and
  // buffers (the self metrics are copied into `inputs.other` each time).
  // They hold what the latest snapshot holds, no older result.
  collect::SnapshotInputs inputs;
  std::map<std::string, std::shared_ptr<const StorePoll>> polls;
  std::map<std::string, std::shared_ptr<const PatroniPoll>> patroni;
  std::map<std::string, std::shared_ptr<const CnpgPoll>> cnpg;
  while (true) {
    inputs.archives.clear();
    inputs.stable.clear();
    inputs.managers.clear();
    {
      core::MutexLock lock(mu_);
      const auto idle_until = SteadyClock::now() + std::chrono::seconds(5);
      while (!dirty_ && !stopping_) {
        if (cv_.wait_until(lock, idle_until) == std::cv_status::timeout) break;
      }
      // Members that finished together share one composition.
      const auto wait_until = std::max(last + kMinGap, SteadyClock::now() + kSettle);
      while (!stopping_ && SteadyClock::now() < wait_until) {
        if (cv_.wait_until(lock, wait_until) == std::cv_status::timeout) break;
      }
      if (stopping_) return;
      dirty_ = false;
      if (!published_ && !FirstCyclesDone()) continue;
      published_ = true;
      config_now = {last_reload_, reload_failures_.load()};
      inputs.targets = results_;
      polls = store_polls_;
      patroni = patroni_polls_;
      cnpg = cnpg_polls_;
    }
    inputs.now = SystemClock::now();
    const bool self_due = SteadyClock::now() - self_at >= kSelfEvery || config_now != self_config;
    if (self_due) {
      self = CurrentSelfMetrics();
      self_at = SteadyClock::now();
      self_config = config_now;
    }
    inputs.other = self;
    const auto pools = ReadPoolsNow();
    if (pools) {
      core::MetricSet pool_metrics;
      pools->AppendMetrics(pool_metrics);
      for (prometheus::MetricFamily& f : pool_metrics.Take()) inputs.other.push_back(std::move(f));
    }
    for (const auto& [name, poll] : polls) {
      inputs.archives.push_back(poll->position);
      inputs.stable.push_back({poll, &poll->families});
    }
    for (const auto& [cluster, poll] : patroni) {
      inputs.stable.push_back({poll, &poll->families});
      inputs.managers[cluster] = poll->state;
    }
    for (const auto& [key, poll] : cnpg) inputs.stable.push_back({poll, &poll->families});
    auto snapshot = composer_state_.Compose(inputs);
    AppendToTsdb(inputs, *snapshot, polls, patroni, cnpg, self_due ? &self : nullptr);
    if (pools) pools->OnSnapshot(snapshot);
    snapshots_.Publish(std::move(snapshot));
    last = SteadyClock::now();
  }
}

bool Exporter::Impl::FirstCyclesDone() const {
  if (!applied_) return false;
  // A loop, not std::all_of: the analysis cannot see mu_ held inside a lambda.
  for (const std::string& key : result_keys_) {
    if (results_.count(key) == 0) return false;
  }
  return true;
}

std::vector<prometheus::MetricFamily> Exporter::Impl::CurrentSelfMetrics() {
  SelfFacts facts;
  facts.version = options_.version;
  facts.reload_failures = reload_failures_.load();
  facts.refused_lifecycle = refused_.lifecycle_disabled.load();
  facts.refused_admin_api = refused_.admin_api_disabled.load();
  facts.refused_unauthorized = http_.unauthorized();
  facts.refused_no_relay_token = http_.relay_forbidden();
  facts.tls_handshake_failures = http_.tls_handshake_failures();
  facts.tls_connections_rejected = http_.tls_connections_rejected();
  if (web_) {
    facts.web_config = true;
    facts.web_config_reload_failures = web_->reload_failures();
    facts.web_config_last_success = web_->last_success_seconds();
  }
  facts.state_load_failures = state_load_failures_.load();
  facts.state_write_failures = state_write_failures_.load();
  {
    const core::MutexLock lock(mu_);
    facts.targets = target_count_;
    facts.last_reload = last_reload_;
  }
  const auto rules = Rules();
  const auto engine = Actions();
  std::vector<prometheus::MetricFamily> families = SelfMetrics(facts, rules.get(), engine.get());
  core::MetricSet more;
  drills_.AppendMetrics(more);
  if (leader_) leader_->CollectMetrics(more);
  for (prometheus::MetricFamily& f : more.Take()) families.push_back(std::move(f));
  return families;
}

Exporter::Exporter(ExporterOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Exporter::~Exporter() { impl_->Stop(); }
core::Status Exporter::Start() { return impl_->Start(); }
core::Status Exporter::Reload() { return impl_->Reload(); }
void Exporter::Stop() { impl_->Stop(); }

}  // namespace pgdr::app

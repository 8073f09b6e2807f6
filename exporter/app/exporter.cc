#include "app/exporter.h"

#include <unistd.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "app/status_views.h"
#include "app/store_poller.h"
#include "pgdr/actions/engine.h"
#include "pgdr/collect/collection_loop.h"
#include "pgdr/collect/snapshot.h"
#include "pgdr/config/config.h"
#include "pgdr/core/files.h"
#include "pgdr/core/log.h"
#include "pgdr/http/server.h"
#include "pgdr/rules/manager.h"
#include "pgdr/tsdb/tsdb.h"

namespace pgdr::app {
namespace {

using SystemClock = std::chrono::system_clock;
using SteadyClock = std::chrono::steady_clock;

double UnixSeconds(SystemClock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// CPU seconds and resident bytes of this process, from /proc/self.
void AppendProcessMetrics(core::MetricSet& out) {
  auto stat = core::ReadFile("/proc/self/stat");
  if (stat.ok()) {
    const size_t close = stat->rfind(')');
    std::istringstream in(stat->substr(close + 2));
    std::vector<std::string> f;
    std::string word;
    while (in >> word) f.push_back(word);
    // Fields after the command: state(0) ... utime(11) stime(12) ... rss(21).
    if (f.size() > 21) {
      const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
      out.Counter("process_cpu_seconds_total", "User and system CPU time of the exporter.", {},
                  (std::stod(f[11]) + std::stod(f[12])) / ticks);
      out.Gauge("process_resident_memory_bytes", "Resident memory of the exporter.", {},
                std::stod(f[21]) * static_cast<double>(sysconf(_SC_PAGESIZE)));
    }
  }
}

std::string AlertsHtml(const std::vector<rules::ManagedAlert>& alerts) {
  std::string out =
      "<h2>Alerts</h2><table><tr><th>alert</th><th>state</th><th>labels</th>"
      "<th>summary</th></tr>";
  size_t shown = 0;
  for (const auto& a : alerts) {
    if (a.alert.state == rules::AlertState::kInactive || a.alert.resolved_at_ms != 0) continue;
    std::string labels;
    for (const auto& l : a.alert.labels) {
      if (l.name == "alertname") continue;
      labels += l.name + "=" + l.value + " ";
    }
    const auto summary_it = a.alert.annotations.find("summary");
    const std::string summary = summary_it == a.alert.annotations.end() ? "" : summary_it->second;
    out += "<tr><td>" + HtmlEscape(a.rule) + "</td><td>" +
           HtmlEscape(rules::AlertStateName(a.alert.state)) + "</td><td>" + HtmlEscape(labels) +
           "</td><td>" + HtmlEscape(summary) + "</td></tr>";
    ++shown;
  }
  if (shown == 0) out += "<tr><td colspan=4>none</td></tr>";
  return out + "</table>";
}

// The evaluator's alerts as the actions module sees them.
std::vector<actions::ActionAlert> ToActionAlerts(const std::vector<rules::ManagedAlert>& in,
                                                 int64_t resend_delay_ms) {
  const auto at = [](int64_t ms) {
    return actions::TimePoint(
        std::chrono::duration_cast<actions::TimePoint::duration>(std::chrono::milliseconds(ms)));
  };
  std::vector<actions::ActionAlert> out;
  out.reserve(in.size());
  for (const auto& m : in) {
    const rules::Alert& a = m.alert;
    if (a.state == rules::AlertState::kInactive && a.resolved_at_ms == 0) continue;
    actions::ActionAlert alert;
    for (const auto& l : a.labels) alert.labels[l.name] = l.value;
    alert.annotations = a.annotations;
    if (a.resolved_at_ms != 0) {
      alert.state = actions::ActionAlert::State::kResolved;
      alert.resolved_at = at(a.resolved_at_ms);
    } else {
      alert.state = a.state == rules::AlertState::kFiring ? actions::ActionAlert::State::kFiring
                                                          : actions::ActionAlert::State::kPending;
    }
    alert.active_at = at(a.active_at_ms);
    if (a.fired_at_ms != 0) alert.fired_at = at(a.fired_at_ms);
    if (m.last_eval_ms != 0) {
      alert.valid_until = at(m.last_eval_ms + 4 * std::max(m.interval_ms, resend_delay_ms));
    }
    alert.value = a.value;
    out.push_back(std::move(alert));
  }
  return out;
}

}  // namespace

class Exporter::Impl {
 public:
  explicit Impl(ExporterOptions options) : options_(std::move(options)), tsdb_(options_.tsdb) {}

  core::Status Start() {
    auto config = config::LoadConfig(options_.config_file);
    if (!config.ok()) return config.status();
    auto monitors = MakeBackupMonitors(*config);
    if (!monitors.ok()) return monitors.status();
    auto engine = actions::ActionEngine::Create(*config);
    if (!engine.ok()) return engine.status();
    if (core::Status s = LoadRules(*config); !s.ok()) return s;
    SwapActions(std::move(*engine));
    RouteHttp();
    if (core::Status s = http_.Start(options_.listen_address); !s.ok()) return s;
    composer_ = std::thread([this] { ComposeLoop(); });
    evaluator_ = std::thread([this] { EvaluateLoop(); });
    Apply(std::move(*config), std::move(*monitors));
    core::Log(core::LogLevel::kInfo, "pgdr_exporter started",
              {{"listen", options_.listen_address},
               {"config", options_.config_file},
               {"version", options_.version}});
    return core::Status::OK();
  }

  core::Status Reload() {
    std::lock_guard reload_lock(reload_mu_);
    auto config = config::LoadConfig(options_.config_file);
    core::Result<std::vector<std::unique_ptr<store::BackupMonitor>>> monitors =
        config.ok() ? MakeBackupMonitors(*config) : config.status();
    core::Result<std::unique_ptr<actions::ActionEngine>> engine =
        monitors.ok() ? actions::ActionEngine::Create(*config) : monitors.status();
    if (!engine.ok()) monitors = engine.status();
    if (monitors.ok()) {
      if (core::Status s = LoadRules(*config); !s.ok()) monitors = s;
    }
    if (!monitors.ok()) {
      reload_failures_ += 1;
      core::Log(core::LogLevel::kError, "reload failed; keeping the running config",
                {{"err", monitors.status().message()}});
      {
        std::lock_guard lock(mu_);
        dirty_ = true;
      }
      cv_.notify_all();
      return monitors.status();
    }
    StopCollection();
    SwapActions(std::move(*engine));
    Apply(std::move(*config), std::move(*monitors));
    core::Log(core::LogLevel::kInfo, "config reloaded", {{"config", options_.config_file}});
    return core::Status::OK();
  }

  void Stop() {
    http_.Stop();
    StopCollection();
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (composer_.joinable()) composer_.join();
    if (evaluator_.joinable()) evaluator_.join();
    if (auto engine = Actions()) engine->Stop();
  }

 private:
  void Apply(config::Config config, std::vector<std::unique_ptr<store::BackupMonitor>> monitors) {
    {
      std::lock_guard lock(mu_);
      std::map<std::string, std::shared_ptr<const collect::TargetResult>> kept;
      for (const auto& t : config.targets) {
        if (auto it = results_.find(t.Key()); it != results_.end()) kept.insert(*it);
      }
      for (const auto& b : config.pgbouncers) {
        if (auto it = results_.find("pooler/" + b.name); it != results_.end()) kept.insert(*it);
      }
      results_ = std::move(kept);
      store_polls_.clear();
      target_count_ = config.targets.size();
      last_reload_ = SystemClock::now();
      dirty_ = true;
    }
    config_ = std::move(config);
    loop_ = std::make_unique<collect::CollectionLoop>(
        config_,
        [this](std::shared_ptr<const collect::TargetResult> r) { OnTargetResult(std::move(r)); });
    collector_ = std::thread([this] { loop_->Run(); });
    stores_ = std::make_unique<StorePoller>(
        std::move(monitors), [this](StorePoll poll) { OnStorePoll(std::move(poll)); });
    cv_.notify_all();
  }

  void StopCollection() {
    if (loop_) loop_->Stop();
    if (collector_.joinable()) collector_.join();
    loop_.reset();
    stores_.reset();
  }

  // Loads the rule files into the running manager (keeping alert state), or
  // into a new one when the evaluation settings changed. On error the
  // running rules are untouched.
  core::Status LoadRules(const config::Config& config) {
    rules::ManagerOptions options;
    options.default_interval_ms = config.evaluation_interval.count();
    options.external_labels = config.external_labels;
    options.external_url = "http://" + options_.listen_address;
    auto running = Rules();
    const bool same = running &&
                      options.default_interval_ms == rules_options_.default_interval_ms &&
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
  void SwapActions(std::unique_ptr<actions::ActionEngine> engine) {
    std::lock_guard eval_lock(eval_mu_);
    if (auto old = Actions()) {
      old->Stop();
      engine->AdoptState(*old);
    }
    engine->Start();
    std::lock_guard lock(engines_mu_);
    actions_ = std::move(engine);
  }

  std::shared_ptr<rules::RuleManager> Rules() const {
    std::lock_guard lock(engines_mu_);
    return rules_;
  }
  std::shared_ptr<actions::ActionEngine> Actions() const {
    std::lock_guard lock(engines_mu_);
    return actions_;
  }

  // Evaluates the rule groups that are due, then hands every alert and the
  // latest snapshot to the action engine (which never blocks this thread).
  // The engine is called when there is something new to decide on: a group
  // was evaluated or a snapshot was published (its guards need fresh facts).
  void EvaluateLoop() {
    constexpr auto kTick = std::chrono::milliseconds(500);
    std::shared_ptr<const collect::Snapshot> decided_on;
    std::shared_ptr<actions::ActionEngine> decided_by;
    while (true) {
      {
        std::unique_lock lock(mu_);
        if (cv_.wait_for(lock, kTick, [&] { return stopping_; })) return;
      }
      std::lock_guard eval_lock(eval_mu_);
      auto rules = Rules();
      auto engine = Actions();
      const auto now = SystemClock::now();
      const int evaluated = rules->Tick(
          std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
      auto snapshot = snapshots_.Latest();
      if (evaluated == 0 && snapshot == decided_on && engine == decided_by) continue;
      engine->OnAlerts(ToActionAlerts(rules->Alerts(), engine->resend_delay_ms()), snapshot, now);
      decided_on = std::move(snapshot);
      decided_by = std::move(engine);
    }
  }

  // Feeds the local TSDB with every result not yet appended, at its own
  // collection time; sources that vanished get staleness markers. Only the
  // rule evaluator reads the TSDB: without rule groups nothing is stored (it
  // was a third of the exporter's CPU and its largest memory), and a reload
  // that adds rules starts filling it from then on.
  void AppendToTsdb(const collect::SnapshotInputs& inputs, const collect::Snapshot& snapshot,
                    const std::map<std::string, std::shared_ptr<const StorePoll>>& polls,
                    const std::vector<prometheus::MetricFamily>* self) {
    if (auto rules = Rules(); !rules || rules->group_count() == 0) {
      appended_.clear();
      return;
    }
    const auto ms = [](SystemClock::time_point t) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    };
    std::map<std::string, const void*> seen;
    for (const auto& [key, result] : inputs.targets) {
      seen[key] = result.get();
      if (appended_[key] != result.get()) {
        std::vector<const std::vector<prometheus::MetricFamily>*> parts{&result->families};
        for (const auto& reused : result->reused) parts.push_back(reused.get());
        tsdb_.AppendScrapeParts(key, parts, ms(result->collected_at));
      }
    }
    for (const auto& [name, poll] : polls) {
      const std::string key = "store/" + name;
      seen[key] = poll.get();
      if (appended_[key] != poll.get()) tsdb_.AppendScrape(key, poll->families, ms(inputs.now));
    }
    tsdb_.AppendScrape("computed", snapshot.computed, ms(inputs.now));
    if (self != nullptr) tsdb_.AppendScrape("self", *self, ms(inputs.now));
    for (const auto& [key, ptr] : appended_) {
      if (seen.count(key) == 0) tsdb_.MarkSourceStale(key, ms(inputs.now));
    }
    appended_ = std::move(seen);
  }

  void OnStorePoll(StorePoll poll) {
    {
      std::lock_guard lock(mu_);
      const std::string key = poll.store;
      store_polls_[key] = std::make_shared<const StorePoll>(std::move(poll));
      dirty_ = true;
    }
    cv_.notify_all();
  }

  void OnTargetResult(std::shared_ptr<const collect::TargetResult> r) {
    if (!r->error.empty() && !r->facts.up) {
      core::Log(core::LogLevel::kDebug, "member down", {{"target", r->key}, {"err", r->error}});
    }
    {
      std::lock_guard lock(mu_);
      results_[r->key] = std::move(r);
      dirty_ = true;
    }
    cv_.notify_all();
  }

  // Composes at most every kMinGap so that a fleet finishing cycles one by
  // one costs a few compositions a second, not one per member. The
  // exporter's own metrics (process, rules, actions: a walk over the TSDB and
  // /proc) are taken at most every kSelfEvery and reused in between.
  void ComposeLoop() {
    constexpr auto kMinGap = std::chrono::milliseconds(200);
    constexpr auto kSelfEvery = std::chrono::seconds(1);
    auto last = SteadyClock::now() - kMinGap;
    std::vector<prometheus::MetricFamily> self;
    auto self_at = SteadyClock::now() - kSelfEvery;
    // A reload (or a refused one) changes the self metrics at once.
    std::pair<SystemClock::time_point, double> self_config{};
    std::pair<SystemClock::time_point, double> config_now{};
    while (true) {
      collect::SnapshotInputs inputs;
      std::map<std::string, std::shared_ptr<const StorePoll>> polls;
      {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::seconds(5), [&] { return dirty_ || stopping_; });
        if (stopping_) return;
        const auto wait_until = last + kMinGap;
        if (SteadyClock::now() < wait_until) {
          cv_.wait_until(lock, wait_until, [&] { return stopping_; });
          if (stopping_) return;
        }
        dirty_ = false;
        config_now = {last_reload_, reload_failures_.load()};
        inputs.targets = results_;
        polls = store_polls_;
      }
      inputs.now = SystemClock::now();
      const bool self_due = SteadyClock::now() - self_at >= kSelfEvery || config_now != self_config;
      if (self_due) {
        self = SelfMetrics();
        self_at = SteadyClock::now();
        self_config = config_now;
      }
      inputs.other = self;
      for (const auto& [name, poll] : polls) {
        inputs.archives.push_back(poll->position);
        inputs.stable.push_back({poll, &poll->families});
      }
      auto snapshot = composer_state_.Compose(inputs);
      AppendToTsdb(inputs, *snapshot, polls, self_due ? &self : nullptr);
      snapshots_.Publish(std::move(snapshot));
      last = SteadyClock::now();
    }
  }

  std::vector<prometheus::MetricFamily> SelfMetrics() {
    core::MetricSet m;
    m.Gauge("pgdr_build_info", "pgdr build: version.", {{"version", options_.version}}, 1);
    size_t targets = 0;
    SystemClock::time_point reload;
    {
      std::lock_guard lock(mu_);
      targets = target_count_;
      reload = last_reload_;
    }
    m.Gauge("pgdr_exporter_targets", "Members configured for collection.", {},
            static_cast<double>(targets));
    m.Gauge("pgdr_config_last_reload_success_timestamp_seconds",
            "When the running config was loaded.", {}, UnixSeconds(reload));
    m.Counter("pgdr_config_reload_failures_total",
              "Reloads refused because the new config was invalid.", {}, reload_failures_.load());
    AppendProcessMetrics(m);
    if (auto rules = Rules()) rules->CollectMetrics(m);
    if (auto engine = Actions()) engine->CollectMetrics(m);
    return m.Take();
  }

  void RouteHttp() {
    http_.Route(options_.telemetry_path, [this](const http::HttpRequest&) {
      auto s = snapshots_.Latest();
      if (!s)
        return http::HttpResponse{503, "text/plain; charset=utf-8", "no collection finished yet\n"};
      return http::HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", s->text};
    });
    http_.Route("/-/healthy", [](const http::HttpRequest&) {
      return http::HttpResponse{200, "text/plain; charset=utf-8", "Healthy.\n"};
    });
    http_.Route("/-/ready", [this](const http::HttpRequest&) {
      return snapshots_.Latest()
                 ? http::HttpResponse{200, "text/plain; charset=utf-8", "Ready.\n"}
                 : http::HttpResponse{503, "text/plain; charset=utf-8", "Not ready.\n"};
    });
    http_.Route("/-/reload", [this](const http::HttpRequest& req) {
      if (req.method != "POST" && req.method != "PUT") {
        return http::HttpResponse{405, "text/plain; charset=utf-8",
                                  "Only POST or PUT requests allowed.\n"};
      }
      core::Status s = Reload();
      if (!s.ok()) {
        return http::HttpResponse{500, "text/plain; charset=utf-8",
                                  "failed to reload config: " + s.message() + "\n"};
      }
      return http::HttpResponse{200, "text/plain; charset=utf-8", ""};
    });
    http_.Route("/api/v1/targets", [this](const http::HttpRequest&) {
      auto s = snapshots_.Latest();
      return http::HttpResponse{200, "application/json", TargetsJson(s ? *s : collect::Snapshot{})};
    });
    http_.Route("/api/v1/rules", [this](const http::HttpRequest&) {
      return http::HttpResponse{200, "application/json", Rules()->RulesJson().dump()};
    });
    http_.Route("/api/v1/alerts", [this](const http::HttpRequest&) {
      return http::HttpResponse{200, "application/json", Rules()->AlertsJson().dump()};
    });
    http_.Route("/api/v1/maintenance",
                [this](const http::HttpRequest& req) { return Actions()->HandleMaintenance(req); });
    http_.Route("/", [this](const http::HttpRequest&) {
      auto s = snapshots_.Latest();
      return http::HttpResponse{200, "text/html; charset=utf-8",
                                StatusPageHtml(s ? *s : collect::Snapshot{}, options_.version,
                                               AlertsHtml(Rules()->Alerts()))};
    });
  }

  const ExporterOptions options_;
  tsdb::Tsdb tsdb_;
  std::mutex eval_mu_;  // one evaluation at a time; engines swapped between them
  mutable std::mutex engines_mu_;
  std::shared_ptr<rules::RuleManager> rules_;       // GUARDED_BY(engines_mu_)
  std::shared_ptr<actions::ActionEngine> actions_;  // GUARDED_BY(engines_mu_)
  rules::ManagerOptions rules_options_;             // reload thread only
  std::thread evaluator_;
  std::map<std::string, const void*> appended_;  // composer thread only
  collect::SnapshotComposer composer_state_;     // composer thread only
  http::HttpServer http_;
  collect::SnapshotStore snapshots_;
  std::mutex reload_mu_;
  config::Config config_;
  std::unique_ptr<collect::CollectionLoop> loop_;
  std::thread collector_;
  std::unique_ptr<StorePoller> stores_;
  std::thread composer_;
  std::atomic<double> reload_failures_{0};

  std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<const collect::TargetResult>> results_;
  std::map<std::string, std::shared_ptr<const StorePoll>> store_polls_;
  size_t target_count_ = 0;
  SystemClock::time_point last_reload_;
  bool dirty_ = false;
  bool stopping_ = false;
};

Exporter::Exporter(ExporterOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Exporter::~Exporter() { impl_->Stop(); }
core::Status Exporter::Start() { return impl_->Start(); }
core::Status Exporter::Reload() { return impl_->Reload(); }
void Exporter::Stop() { impl_->Stop(); }

}  // namespace pgdr::app

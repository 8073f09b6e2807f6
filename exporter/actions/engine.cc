#include "pgdr/actions/engine.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <tuple>

#include "actions/engine_impl.h"
#include "pgdr/actions/provider.h"
#include "pgdr/core/log.h"
#include "pgdr/core/mutex.h"
#include "pgdr/core/strings.h"

namespace pgdr::actions {

namespace {

constexpr const char* kActionNames[] = {"failover", "redirect", "webhook", "exec"};

const char* ActionName(const Trigger& t) { return kActionNames[static_cast<int>(t.action)]; }

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

std::string Get(const LabelMap& m, const std::string& k) {
  const auto it = m.find(k);
  return it == m.end() ? "" : it->second;
}

// The position a decision measured the candidate's loss from, as log values.
struct PrimaryText {
  explicit PrimaryText(const FailoverDecision& d)
      : lsn(d.primary_lsn ? Num(*d.primary_lsn) : ""),
        seen(d.primary_seen ? FormatRfc3339(*d.primary_seen) : "") {}
  std::string lsn;
  std::string seen;
};

}  // namespace

core::Result<std::unique_ptr<ActionEngine>> ActionEngine::Create(
    const config::Config& config, const config::OwnedSections& sections) {
  auto loaded = LoadActionsConfig(config, sections);
  if (!loaded.ok()) return loaded.status();
  return std::make_unique<ActionEngine>(std::move(*loaded));
}

ActionEngine::Impl::Impl(ActionsConfig config)
    : config_(std::move(config)),
      notifier_(config_.notifier),
      maintenance_(config_.windows,
                   std::set<std::string>(config_.clusters.begin(), config_.clusters.end())),
      regions_(config_.regions.size()) {}

ActionEngine::Impl::~Impl() { Stop(); }

void ActionEngine::Impl::Start() {
  notifier_.Start();
  const core::MutexLock lock(work_mu_);
  if (worker_.joinable()) return;
  stop_ = false;
  worker_ = std::thread([this] { WorkerLoop(); });
}

void ActionEngine::Impl::Stop() {
  {
    const core::MutexLock lock(work_mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  std::deque<Task> dropped;
  {
    const core::MutexLock lock(work_mu_);
    dropped.swap(work_);
  }
  for (auto& task : dropped) {
    if (task.drop) task.drop();
  }
  notifier_.Stop();
}

void ActionEngine::Impl::Dispatch(Task task) {
  {
    const core::MutexLock lock(work_mu_);
    work_.push_back(std::move(task));
  }
  work_cv_.notify_all();
}

void ActionEngine::Impl::WorkerLoop() {
  core::MutexLock lock(work_mu_);
  while (true) {
    while (!stop_ && work_.empty()) work_cv_.wait(lock);
    if (stop_) return;
    Task task = std::move(work_.front());
    work_.pop_front();
    busy_ = true;
    lock.unlock();
    task.run();
    lock.lock();
    busy_ = false;
    work_cv_.notify_all();
  }
}

bool ActionEngine::Impl::WaitIdle(milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  {
    core::MutexLock lock(work_mu_);
    while (!work_.empty() || busy_) {
      if (work_cv_.wait_until(lock, deadline) == std::cv_status::timeout) break;
    }
    if (!work_.empty() || busy_) return false;
  }
  const auto left =
      std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
  return notifier_.Drain(std::max(left, milliseconds(0)));
}

void ActionEngine::Impl::OnAlerts(const std::vector<ActionAlert>& alerts,
                                  const std::shared_ptr<const collect::Snapshot>& snapshot,
                                  TimePoint now) {
  bool leading = true;
  {
    const core::MutexLock lock(mu_);
    leading = MayAct(nullptr);
  }
  notifier_.Update(alerts, now, leading);
  const core::MutexLock lock(mu_);
  if (snapshot && snapshot != last_snapshot_) {
    last_snapshot_ = snapshot;
    for (const auto& cluster : config_.clusters) {
      std::map<std::string, std::string> addresses;
      for (const auto& ep : config_.members.at(cluster)) {
        addresses[ep.member] = config_.addresses.at(cluster + "/" + ep.member);
      }
      members_[cluster] = ClusterMembers(*snapshot, cluster, addresses);
      const auto known = snapshot->primaries.find(cluster);
      trackers_[cluster].Observe(members_[cluster],
                                 known == snapshot->primaries.end() ? nullptr : &known->second,
                                 snapshot->composed_at);
    }
    for (size_t i = 0; i < config_.regions.size(); ++i) {
      const RegionPolicy& p = config_.regions[i].policy;
      const auto known = snapshot->primaries.find(p.cluster);
      regions_[i].tracker.Observe(members_[p.cluster],
                                  known == snapshot->primaries.end() ? nullptr : &known->second,
                                  p.standby_region, snapshot->composed_at);
      HandleRegion(config_.regions[i], regions_[i], now);
    }
  }
  std::set<std::string> live;
  for (size_t i = 0; i < config_.triggers.size(); ++i) {
    const Trigger& t = config_.triggers[i];
    for (const auto& a : alerts) {
      if (a.state != ActionAlert::State::kFiring || !MatchAll(t.match, a.labels)) continue;
      const std::string cluster = t.cluster.empty() ? Get(a.labels, "cluster") : t.cluster;
      if (!config_.members.count(cluster)) {
        const std::string key = std::to_string(i) + "/nocluster/" + Fingerprint(a.labels);
        live.insert(key);
        if (decisions_.emplace(key, "nocluster").second) {
          core::Log(core::LogLevel::kWarn, "action skipped: the alert names no known cluster",
                    {{"trigger", t.name},
                     {"alertname", Get(a.labels, "alertname")},
                     {"cluster", cluster}});
        }
        continue;
      }
      if (t.action == Trigger::Action::kFailover) {
        const std::string key = std::to_string(i) + "/" + cluster;
        live.insert(key);
        HandleFailover(i, t, a, cluster, now);
      } else {
        const std::string key = std::to_string(i) + "/" + Fingerprint(a.labels);
        live.insert(key);
        std::string& done = decisions_[key];
        if (done == "done") continue;
        if (std::string not_leader; !t.dry_run && !MayAct(&not_leader)) {
          if (done != "not_leader") {
            Withhold(t, cluster, Get(a.labels, "alertname"), now, not_leader,
                     std::string("not running the ") + ActionName(t) + " action: " + not_leader);
          }
          done = "not_leader";
          continue;
        }
        done = "done";
        HandleOnce(t, a, cluster, now);
      }
    }
  }
  for (auto it = decisions_.begin(); it != decisions_.end();) {
    it = live.count(it->first) ? std::next(it) : decisions_.erase(it);
  }
}

void ActionEngine::Impl::HandleFailover(size_t index, const Trigger& t, const ActionAlert& alert,
                                        const std::string& cluster, TimePoint now) {
  const std::string key = std::to_string(index) + "/" + cluster;
  std::string& last = decisions_[key];
  if (last == "acted" || last == "dry_run" || in_flight_.count(cluster)) return;
  std::string why;
  const bool maintenance = maintenance_.Active(cluster, now, &why);
  ClusterTracker& tracker = trackers_[cluster];
  // A standby region is promoted by its region_failover only (with its own
  // guards and approval), never as a node failover's candidate.
  std::vector<MemberView> members = members_[cluster];
  std::erase_if(members, [&](const MemberView& m) {
    return std::any_of(
        config_.regions.begin(), config_.regions.end(), [&](const RegionFailover& rf) {
          return rf.policy.cluster == cluster && rf.policy.standby_region == m.region;
        });
  });
  // A Patroni cluster not in the snapshot yet (no poll composed) is unknown.
  std::optional<collect::ManagerState> manager;
  if (config_.patroni_urls.count(cluster)) {
    manager.emplace();
    manager->manager = "patroni";
  }
  if (last_snapshot_) {
    if (const auto it = last_snapshot_->managers.find(cluster);
        it != last_snapshot_->managers.end()) {
      manager = it->second;
    }
  }
  const FailoverDecision d =
      DecideFailover(members, tracker, t.policy, maintenance, now, manager ? &*manager : nullptr);
  const std::string alertname = Get(alert.labels, "alertname");
  if (!d.promote) {
    if (d.reason == last) return;
    last = d.reason;
    if (d.reason == "not_confirmed") {
      core::Log(core::LogLevel::kInfo, "failover waiting for confirmation",
                {{"trigger", t.name},
                 {"cluster", cluster},
                 {"provider", t.provider},
                 {"alertname", alertname},
                 {"detail", d.detail}});
      Remember(t, cluster, alertname, now, "waiting", d.reason, d.detail,
               {{"provider", t.provider}, {"old_primary", d.old_primary}});
      return;
    }
    const PrimaryText primary(d);
    const std::string lag = d.candidate.empty() ? "" : Num(d.lag_bytes);
    core::Log(core::LogLevel::kWarn, "failover refused",
              {{"trigger", t.name},
               {"cluster", cluster},
               {"provider", t.provider},
               {"alertname", alertname},
               {"result", "refused"},
               {"reason", d.reason},
               {"detail", maintenance ? d.detail + " (" + why + ")" : d.detail},
               {"candidate", d.candidate},
               {"lag_bytes", lag},
               {"old_primary", d.old_primary},
               {"primary_lsn_bytes", primary.lsn},
               {"primary_last_seen", primary.seen}});
    CountFailover("node", cluster, t.provider, "refused", 0);
    Remember(
        t, cluster, alertname, now, "refused", d.reason,
        "refused: " + (maintenance ? d.detail + " (" + why + ")" : d.detail),
        {{"provider", t.provider}, {"candidate", d.candidate}, {"old_primary", d.old_primary}});
    return;
  }
  const PrimaryText primary(d);
  if (t.dry_run) {
    last = "dry_run";
    core::Log(core::LogLevel::kWarn, "failover dry run: would promote",
              {{"trigger", t.name},
               {"cluster", cluster},
               {"provider", t.provider},
               {"alertname", alertname},
               {"result", "dry_run"},
               {"candidate", d.candidate},
               {"candidate_lsn_bytes", Num(d.candidate_lsn)},
               {"lag_bytes", Num(d.lag_bytes)},
               {"old_primary", d.old_primary},
               {"primary_lsn_bytes", primary.lsn},
               {"primary_last_seen", primary.seen},
               {"repoint_replicas", t.repoint_replicas ? "true" : "false"},
               {"redirect", Join(t.redirect)}});
    CountFailover("node", cluster, t.provider, "dry_run", d.lag_bytes);
    Remember(t, cluster, alertname, now, "dry_run", d.reason,
             "would promote " + d.candidate + ", " + core::HumanBytes(d.lag_bytes) + " behind" +
                 (t.redirect.empty() ? "" : ", and repoint " + Join(t.redirect)),
             {{"provider", t.provider},
              {"candidate", d.candidate},
              {"candidate_lsn_bytes", Num(d.candidate_lsn)},
              {"lag_bytes", Num(d.lag_bytes)},
              {"old_primary", d.old_primary},
              {"primary_lsn_bytes", primary.lsn},
              {"primary_last_seen", primary.seen}});
    return;
  }
  if (std::string not_leader; !MayAct(&not_leader)) {
    if (last == "not_leader") return;
    last = "not_leader";
    Withhold(t, cluster, alertname, now, not_leader,
             "not promoting " + d.candidate + ": " + not_leader);
    return;
  }
  // The cooldown starts when the provider is called (RunFailover), not here:
  // a failover still queued when the engine stops never ran.
  last = "acted";
  in_flight_.insert(cluster);
  core::Log(core::LogLevel::kWarn, "failover started",
            {{"trigger", t.name},
             {"cluster", cluster},
             {"provider", t.provider},
             {"alertname", alertname},
             {"candidate", d.candidate},
             {"candidate_lsn_bytes", Num(d.candidate_lsn)},
             {"lag_bytes", Num(d.lag_bytes)},
             {"old_primary", d.old_primary},
             {"primary_lsn_bytes", primary.lsn},
             {"primary_last_seen", primary.seen}});
  Remember(t, cluster, alertname, now, "started", d.reason,
           "promoting " + d.candidate + ", " + core::HumanBytes(d.lag_bytes) + " behind",
           {{"provider", t.provider},
            {"candidate", d.candidate},
            {"candidate_lsn_bytes", Num(d.candidate_lsn)},
            {"lag_bytes", Num(d.lag_bytes)},
            {"old_primary", d.old_primary},
            {"primary_lsn_bytes", primary.lsn},
            {"primary_last_seen", primary.seen}});
  Dispatch({[this, &t, cluster, d, alert, members, now] {
              RunFailover(t, cluster, d, alert, members, now);
            },
            [this, &t, cluster, d] { DropFailover(t, cluster, d); }});
}

void ActionEngine::Impl::DropFailover(const Trigger& t, const std::string& cluster,
                                      const FailoverDecision& d) {
  core::Log(core::LogLevel::kWarn, "failover dropped: the engine stopped before it ran",
            {{"trigger", t.name},
             {"cluster", cluster},
             {"provider", t.provider},
             {"candidate", d.candidate},
             {"detail", "no cooldown is kept for it; the next engine decides again"}});
  Remember(t, cluster, "", Clock::now(), "dropped", "stopped",
           "not run: the engine stopped before promoting " + d.candidate,
           {{"candidate", d.candidate}});
  const core::MutexLock lock(mu_);
  in_flight_.erase(cluster);
  for (auto it = decisions_.begin(); it != decisions_.end();) {
    const bool mine = it->second == "acted" && it->first.ends_with("/" + cluster);
    it = mine ? decisions_.erase(it) : std::next(it);
  }
}

void ActionEngine::Impl::RunFailover(const Trigger& t, const std::string& cluster,
                                     const FailoverDecision& d, const ActionAlert& alert,
                                     const std::vector<MemberView>& members, TimePoint decided_at) {
  {
    const core::MutexLock lock(mu_);
    // The lease may have been lost (or fenced) since the decision: checked
    // again just before the provider runs.
    if (std::string not_leader; !MayAct(&not_leader)) {
      Withhold(t, cluster, Get(alert.labels, "alertname"), Clock::now(), not_leader,
               "not promoting " + d.candidate + ": " + not_leader);
      in_flight_.erase(cluster);
      for (auto it = decisions_.begin(); it != decisions_.end();) {
        const bool mine = it->second == "acted" && it->first.ends_with("/" + cluster);
        it = mine ? decisions_.erase(it) : std::next(it);
      }
      return;
    }
    trackers_[cluster].last_failover = decided_at;
  }
  const auto started = std::chrono::steady_clock::now();
  const PgEndpoint* candidate = nullptr;
  for (const auto& ep : config_.members.at(cluster)) {
    if (ep.member == d.candidate) candidate = &ep;
  }
  const FailoverProvider* provider = FindProvider(t.provider);  // LoadActionsConfig checked it
  core::Status st;
  if (!candidate) {
    st = core::Status::NotFound("candidate " + d.candidate + " has no target");
  } else {
    const auto urls = config_.patroni_urls.find(cluster);
    const FailoverPlan plan{
        t,          cluster,          d,
        alert,      members,          config_.members.at(cluster),
        *candidate, /*region=*/false, urls == config_.patroni_urls.end() ? nullptr : &urls->second};
    st = provider->Promote(plan, started + t.timeout);
  }
  if (st.ok() && !t.redirect.empty()) {
    const core::Status rs = Redirect(t.redirect, cluster, d.candidate_address);
    if (!rs.ok()) st = core::Status::IOError("promoted, but redirect failed: " + rs.message());
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  char took[32];
  std::snprintf(took, sizeof took, "%.3f", secs);
  core::Log(st.ok() ? core::LogLevel::kWarn : core::LogLevel::kError, "failover finished",
            {{"trigger", t.name},
             {"cluster", cluster},
             {"provider", t.provider},
             {"result", st.ok() ? "success" : "failed"},
             {"candidate", d.candidate},
             {"lag_bytes", Num(d.lag_bytes)},
             {"old_primary", d.old_primary},
             {"duration_seconds", took},
             {"error", st.message()}});
  Remember(t, cluster, Get(alert.labels, "alertname"), Clock::now(), st.ok() ? "success" : "failed",
           st.ok() ? "promoted" : "provider_failed",
           st.ok() ? "promoted " + d.candidate + " in " + std::string(took) + " s"
                   : "promoting " + d.candidate + " failed: " + st.message(),
           {{"provider", t.provider},
            {"candidate", d.candidate},
            {"lag_bytes", Num(d.lag_bytes)},
            {"old_primary", d.old_primary},
            {"duration_seconds", took}});
  const core::MutexLock lock(mu_);
  CountFailover("node", cluster, t.provider, st.ok() ? "success" : "failed",
                st.ok() ? d.lag_bytes : 0);
  in_flight_.erase(cluster);
  if (!st.ok()) {
    for (auto& [key, value] : decisions_) {
      if (value == "acted" && key.ends_with("/" + cluster)) value = "failed";
    }
  }
}

core::Status ActionEngine::Impl::Redirect(const std::vector<std::string>& poolers,
                                          const std::string& cluster, const std::string& address) {
  const auto [host, port] = SplitHostPort(address);
  core::Status result;
  for (const auto& name : poolers) {
    const core::Status st =
        RedirectPooler(config_.poolers.at(name), host, port, milliseconds(10000));
    core::Log(st.ok() ? core::LogLevel::kWarn : core::LogLevel::kError, "pgbouncer redirected",
              {{"pooler", name},
               {"cluster", cluster},
               {"address", address},
               {"result", st.ok() ? "success" : "failed"},
               {"error", st.message()}});
    if (!st.ok() && result.ok()) result = st;
  }
  return result;
}

void ActionEngine::Impl::HandleOnce(const Trigger& t, const ActionAlert& alert,
                                    const std::string& cluster, TimePoint now) {
  const std::string alertname = Get(alert.labels, "alertname");
  std::string why;
  if (maintenance_.Active(cluster, now, &why)) {
    core::Log(core::LogLevel::kWarn, "action refused",
              {{"trigger", t.name},
               {"action", ActionName(t)},
               {"cluster", cluster},
               {"alertname", alertname},
               {"result", "refused"},
               {"reason", "maintenance"},
               {"detail", why}});
    CountAction(t, "refused");
    Remember(t, cluster, alertname, now, "refused", "maintenance",
             "refused: a maintenance window is active (" + why + ")");
    return;
  }
  std::vector<std::string> poolers = t.poolers;
  std::string primary_address;
  if (t.action == Trigger::Action::kRedirect) {
    if (poolers.empty()) {
      for (const auto& [name, c] : config_.pooler_cluster) {
        if (c == cluster) poolers.push_back(name);
      }
    }
    int primaries = 0;
    for (const auto& m : members_[cluster]) {
      if (m.up && m.in_recovery == false) {
        ++primaries;
        primary_address = m.address;
      }
    }
    if (primaries != 1 || poolers.empty()) {
      core::Log(core::LogLevel::kWarn, "action refused",
                {{"trigger", t.name},
                 {"action", "redirect"},
                 {"cluster", cluster},
                 {"alertname", alertname},
                 {"result", "refused"},
                 {"reason", poolers.empty() ? "no_pooler" : "no_single_primary"}});
      CountAction(t, "refused");
      Remember(t, cluster, alertname, now, "refused",
               poolers.empty() ? "no_pooler" : "no_single_primary",
               poolers.empty() ? "refused: no PgBouncer is configured for the cluster"
                               : "refused: " + std::to_string(primaries) +
                                     " members answer as primary, not exactly one",
               {{"primaries", std::to_string(primaries)}});
      return;
    }
  }
  if (t.dry_run) {
    core::Log(core::LogLevel::kWarn, "action dry run: would act",
              {{"trigger", t.name},
               {"action", ActionName(t)},
               {"cluster", cluster},
               {"alertname", alertname},
               {"result", "dry_run"},
               {"address", primary_address}});
    CountAction(t, "dry_run");
    Remember(t, cluster, alertname, now, "dry_run", "dry_run",
             t.action == Trigger::Action::kRedirect
                 ? "would repoint " + Join(poolers) + " at " + primary_address
                 : std::string("would run the ") + ActionName(t) + " action",
             {{"address", primary_address}, {"poolers", Join(poolers)}});
    return;
  }
  if (t.action == Trigger::Action::kWebhook) {
    const std::string body =
        WebhookBody(t.receiver, {"alertname", "cluster"}, {alert}, config_.notifier.external_url,
                    config_.notifier.external_labels)
            .dump();
    const core::Status st = notifier_.Enqueue(t.receiver, body);
    core::Log(core::LogLevel::kInfo, "action webhook queued",
              {{"trigger", t.name},
               {"cluster", cluster},
               {"alertname", alertname},
               {"result", st.ok() ? "success" : "failed"}});
    CountAction(t, st.ok() ? "success" : "failed");
    Remember(t, cluster, alertname, now, st.ok() ? "success" : "failed", "webhook",
             st.ok() ? "webhook queued for " + t.receiver
                     : "webhook to " + t.receiver + " not queued: " + st.message(),
             {{"receiver", t.receiver}});
    return;
  }
  Dispatch({[this, &t, alert, cluster, poolers, primary_address] {
              core::Status st;
              if (t.action == Trigger::Action::kRedirect) {
                st = Redirect(poolers, cluster, primary_address);
              } else {
                st = RunCommand(t.command,
                                {{"PGDR_ACTION", "exec"},
                                 {"PGDR_TRIGGER", t.name},
                                 {"PGDR_CLUSTER", cluster},
                                 {"PGDR_ALERTNAME", Get(alert.labels, "alertname")},
                                 {"PGDR_ALERT_LABELS", LabelsJson(alert.labels)},
                                 {"PGDR_ALERT_ANNOTATIONS", LabelsJson(alert.annotations)},
                                 {"PGDR_DRY_RUN", "false"}},
                                t.timeout);
              }
              core::Log(st.ok() ? core::LogLevel::kInfo : core::LogLevel::kError, "action finished",
                        {{"trigger", t.name},
                         {"action", ActionName(t)},
                         {"cluster", cluster},
                         {"result", st.ok() ? "success" : "failed"},
                         {"error", st.message()}});
              Remember(
                  t, cluster, Get(alert.labels, "alertname"), Clock::now(),
                  st.ok() ? "success" : "failed", ActionName(t),
                  t.action == Trigger::Action::kRedirect
                      ? (st.ok() ? "repointed " : "repointing failed: ") + Join(poolers) + " at " +
                            primary_address
                      : (st.ok() ? std::string("command ran") : "command failed: " + st.message()),
                  {{"address", primary_address}, {"poolers", Join(poolers)}});
              const core::MutexLock lock(mu_);
              CountAction(t, st.ok() ? "success" : "failed");
            },
            [&t, cluster] {
              core::Log(core::LogLevel::kWarn, "action dropped: the engine stopped before it ran",
                        {{"trigger", t.name}, {"action", ActionName(t)}, {"cluster", cluster}});
            }});
}

void ActionEngine::Impl::CountFailover(const std::string& kind, const std::string& cluster,
                                       const std::string& provider, const std::string& result,
                                       double loss_bytes) {
  failover_counts_[{cluster, provider, result, kind}] += 1;
  failover_loss_bytes_[{cluster, provider, result, kind}] += loss_bytes;
}

void ActionEngine::Impl::CountAction(const Trigger& t, const std::string& result) {
  action_counts_[{t.name, ActionName(t), result, ""}] += 1;
}

bool ActionEngine::Impl::MayAct(std::string* why) const { return !gate_ || gate_->MayAct(why); }

void ActionEngine::Impl::SetActingGate(std::shared_ptr<const leader::ActingGate> gate) {
  const core::MutexLock lock(mu_);
  gate_ = std::move(gate);
}

void ActionEngine::Impl::Withhold(const Trigger& t, const std::string& cluster,
                                  const std::string& alertname, TimePoint now,
                                  const std::string& why, const std::string& summary) {
  core::Log(core::LogLevel::kInfo, "action withheld: this replica is not the leader",
            {{"trigger", t.name},
             {"action", ActionName(t)},
             {"cluster", cluster},
             {"alertname", alertname},
             {"result", "not_leader"},
             {"detail", why}});
  not_leader_counts_[{t.name, ActionName(t), "", ""}] += 1;
  Remember(t, cluster, alertname, now, "not_leader", "not_leader", summary);
}

void ActionEngine::Impl::Remember(const Trigger& t, const std::string& cluster,
                                  const std::string& alertname, TimePoint at, std::string result,
                                  std::string reason, std::string summary,
                                  std::map<std::string, std::string> evidence) {
  history_.Record({at, cluster, ActionName(t), t.name, alertname, std::move(result),
                   std::move(reason), std::move(summary), std::move(evidence)});
}

void ActionEngine::Impl::AdoptState(const Impl& previous) {
  maintenance_.AdoptManual(previous.maintenance_);
  history_.Adopt(previous.history_);
  const core::MutexLock lock(mu_);
  const core::MutexLock previous_lock(previous.mu_);
  trackers_ = previous.trackers_;
  for (size_t i = 0; i < config_.regions.size(); ++i) {
    for (size_t j = 0; j < previous.config_.regions.size(); ++j) {
      if (previous.config_.regions[j].trigger.name != config_.regions[i].trigger.name) continue;
      regions_[i].tracker = previous.regions_[j].tracker;
      if (previous.regions_[j].state == "running" || previous.regions_[j].state == "done") {
        regions_[i].state = "done";
      }
    }
  }
  not_leader_counts_ = previous.not_leader_counts_;
  failover_counts_ = previous.failover_counts_;
  failover_loss_bytes_ = previous.failover_loss_bytes_;
  action_counts_ = previous.action_counts_;
}

GuardMemory ActionEngine::Impl::Memory() const {
  const core::MutexLock lock(mu_);
  GuardMemory out;
  for (const auto& [cluster, t] : trackers_) {
    if (t.last_primary.empty() && !t.last_failover) continue;
    out.clusters[cluster] = {{t.last_primary, t.last_primary_lsn, t.last_primary_seen, ""},
                             t.last_failover};
  }
  for (size_t i = 0; i < config_.regions.size(); ++i) {
    const RegionTracker& t = regions_[i].tracker;
    if (t.last_primary.empty() && !t.last_promotion) continue;
    const RegionPolicy& p = config_.regions[i].policy;
    out.regions[{p.cluster, p.standby_region}] = {
        {t.last_primary, t.last_primary_lsn, t.last_primary_seen, t.primary_region},
        t.last_promotion};
  }
  return out;
}

void ActionEngine::Impl::RestoreMemory(const GuardMemory& memory) {
  const core::MutexLock lock(mu_);
  for (const auto& [cluster, m] : memory.clusters) {
    if (std::find(config_.clusters.begin(), config_.clusters.end(), cluster) ==
        config_.clusters.end()) {
      continue;
    }
    ClusterTracker& t = trackers_[cluster];
    t.last_primary = m.primary.member;
    t.last_primary_lsn = m.primary.lsn_bytes;
    t.last_primary_seen = m.primary.seen;
    t.last_failover = m.last_failover;
  }
  for (size_t i = 0; i < config_.regions.size(); ++i) {
    const RegionPolicy& p = config_.regions[i].policy;
    const auto it = memory.regions.find({p.cluster, p.standby_region});
    if (it == memory.regions.end()) continue;
    RegionTracker& t = regions_[i].tracker;
    t.last_primary = it->second.primary.member;
    t.last_primary_lsn = it->second.primary.lsn_bytes;
    t.last_primary_seen = it->second.primary.seen;
    t.primary_region = it->second.primary.region;
    t.last_promotion = it->second.last_promotion;
  }
}

http::HttpResponse ActionEngine::Impl::HandleMaintenance(const http::HttpRequest& request) {
  if (request.method == "POST") return maintenance_.HandlePost(request, Clock::now());
  if (request.method == "GET") return maintenance_.HandleGet(Clock::now());
  return http::HttpResponse{405, "text/plain; charset=utf-8", "method not allowed\n"};
}

void ActionEngine::Impl::CollectMetrics(core::MetricSet& out) const {
  notifier_.CollectMetrics(out);
  maintenance_.CollectMetrics(out, Clock::now());
  const core::MutexLock lock(mu_);
  static constexpr const char* kResults[] = {"success", "failed", "refused", "dry_run"};
  std::set<std::tuple<std::string, std::string, std::string>> seen;  // cluster, provider, kind
  for (const auto& t : config_.triggers) {
    if (t.action != Trigger::Action::kFailover) continue;
    const std::vector<std::string> clusters =
        t.cluster.empty() ? config_.clusters : std::vector<std::string>{t.cluster};
    for (const auto& c : clusters) seen.insert({c, t.provider, "node"});
  }
  for (const auto& rf : config_.regions)
    seen.insert({rf.policy.cluster, rf.trigger.provider, "region"});
  for (const auto& [k, v] : failover_counts_) seen.insert({k.a, k.b, k.d});
  for (const auto& [cluster, provider, kind] : seen) {
    std::vector<std::string> results(std::begin(kResults), std::end(kResults));
    if (kind == "region") results.push_back("pending");
    for (const auto& r : results) {
      const auto it = failover_counts_.find({cluster, provider, r, kind});
      out.Counter("pgdr_failover_requests_total",
                  "Failover decisions by kind (node, region) and result: success, failed, refused "
                  "(a guard said no), dry_run (would have promoted), pending (a regional promotion "
                  "awaiting approval).",
                  {{"cluster", cluster}, {"provider", provider}, {"kind", kind}, {"result", r}},
                  it == failover_counts_.end() ? 0 : it->second);
    }
    for (const char* r : {"success", "dry_run"}) {
      const auto it = failover_loss_bytes_.find({cluster, provider, r, kind});
      out.Counter("pgdr_failover_loss_bytes_total",
                  "WAL bytes the promoted (success) or would-be promoted (dry_run) candidates "
                  "lacked: the cluster's last primary LSN minus the candidate's, summed over "
                  "decisions.",
                  {{"cluster", cluster}, {"provider", provider}, {"kind", kind}, {"result", r}},
                  it == failover_loss_bytes_.end() ? 0 : it->second);
    }
  }
  if (gate_) {
    std::vector<const Trigger*> all;
    for (const auto& t : config_.triggers) all.push_back(&t);
    for (const auto& rf : config_.regions) all.push_back(&rf.trigger);
    for (const Trigger* t : all) {
      const auto it = not_leader_counts_.find({t->name, ActionName(*t), "", ""});
      out.Counter("pgdr_actions_not_leader_total",
                  "Decisions to act (failover, redirect, webhook, exec, regional promotion) this "
                  "replica withheld because it did not hold the leader lease.",
                  {{"trigger", t->name}, {"action", ActionName(*t)}},
                  it == not_leader_counts_.end() ? 0 : it->second);
    }
  }
  for (const auto& t : config_.triggers) {
    if (t.action == Trigger::Action::kFailover) continue;
    for (const char* r : kResults) {
      const auto it = action_counts_.find({t.name, ActionName(t), r, ""});
      out.Counter("pgdr_actions_total",
                  "Redirect, webhook and exec action decisions by trigger and result.",
                  {{"trigger", t.name}, {"action", ActionName(t)}, {"result", r}},
                  it == action_counts_.end() ? 0 : it->second);
    }
  }
}

ActionEngine::ActionEngine(ActionsConfig config)
    : impl_(std::make_unique<Impl>(std::move(config))) {}
ActionEngine::~ActionEngine() = default;
void ActionEngine::Start() { impl_->Start(); }
void ActionEngine::Stop() { impl_->Stop(); }
void ActionEngine::OnAlerts(const std::vector<ActionAlert>& alerts,
                            const std::shared_ptr<const collect::Snapshot>& snapshot,
                            TimePoint now) {
  impl_->OnAlerts(alerts, snapshot, now);
}
void ActionEngine::AdoptState(const ActionEngine& previous) { impl_->AdoptState(*previous.impl_); }
GuardMemory ActionEngine::Memory() const { return impl_->Memory(); }
void ActionEngine::RestoreMemory(const GuardMemory& memory) { impl_->RestoreMemory(memory); }
http::HttpResponse ActionEngine::HandleMaintenance(const http::HttpRequest& request) {
  return impl_->HandleMaintenance(request);
}
MaintenanceWindows& ActionEngine::maintenance() { return impl_->maintenance(); }
const MaintenanceWindows& ActionEngine::maintenance() const { return impl_->maintenance(); }
const DecisionLog& ActionEngine::history() const { return impl_->history(); }
int64_t ActionEngine::resend_delay_ms() const { return impl_->resend_delay_ms(); }
void ActionEngine::CollectMetrics(core::MetricSet& out) const { impl_->CollectMetrics(out); }
bool ActionEngine::WaitIdle(milliseconds timeout) { return impl_->WaitIdle(timeout); }
void ActionEngine::SetActingGate(std::shared_ptr<const leader::ActingGate> gate) {
  impl_->SetActingGate(std::move(gate));
}

}  // namespace pgdr::actions

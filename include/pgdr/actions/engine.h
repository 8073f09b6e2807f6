// ActionEngine: what the exporter calls after each rule evaluation.
//
// OnAlerts() gets the evaluator's full current alert list and the latest
// snapshot. It feeds the notifiers (Alertmanagers, webhooks), updates the
// failover guards' memory of each cluster, and for every configured trigger
// whose matchers select a firing alert decides what to do:
//   - failover: the guards of failover.h; dry-run (the default) logs and
//     counts what would be done; otherwise the trigger's FailoverProvider
//     (provider.h: pg_promote, exec, patroni, cnpg) runs on the engine's
//     worker thread, then the configured PgBouncers are repointed at the
//     new primary;
//   - redirect: repoints PgBouncers at the cluster's current primary;
//   - webhook / exec: once per firing episode of the alert.
//   - region_failover (not alert-driven: decided on every new snapshot): the
//     guards of region.h; with approval: manual (the default) a decision
//     that passes them is held pending, paged with its RPO, and shown in
//     GET /api/v1/actions until POST /api/v1/actions/region/approve (the
//     `promote-region` CLI) confirms it; then the provider promotes the
//     standby region's best member, the others are repointed at it and the
//     PgBouncers follow.
// No action runs for a cluster inside a maintenance window. Every decision
// is one structured log line and a counter:
// pgdr_failover_requests_total{cluster,provider,kind,result} (kind node or
// region; success, failed, refused, dry_run, and pending for a regional
// promotion awaiting approval) and pgdr_actions_total{trigger,action,result}; a
// promotion's (or dry run's) loss, measured from the snapshot's primary
// position, also in pgdr_failover_loss_bytes_total{cluster,provider,result}. Repeated
// identical refusals while an alert keeps firing are logged and counted once.
//
// Thread-safety: every public method is safe from any thread. OnAlerts()
// never blocks on a database or a remote HTTP server.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "pgdr/actions/actions_config.h"
#include "pgdr/collect/snapshot.h"
#include "pgdr/config/config.h"
#include "pgdr/core/metric_set.h"
#include "pgdr/http/server.h"

namespace pgdr::actions {

class ActionEngine {
 public:
  // Validates the config sections (see actions_config.h).
  static core::Result<std::unique_ptr<ActionEngine>> Create(const config::Config& config);
  explicit ActionEngine(ActionsConfig config);
  ~ActionEngine();  // Stop()
  ActionEngine(const ActionEngine&) = delete;
  ActionEngine& operator=(const ActionEngine&) = delete;

  // Starts the notifier senders and the action worker; idempotent.
  void Start();
  // Stops them; a running provider call finishes first (bounded by its timeout).
  // Queued actions that have not started are dropped and logged; a dropped
  // failover leaves no cooldown (it never ran) and may be decided again.
  void Stop();

  // After each rule evaluation. `snapshot` may be null before the first composition.
  void OnAlerts(const std::vector<ActionAlert>& alerts,
                const std::shared_ptr<const collect::Snapshot>& snapshot, TimePoint now);

  // On a config reload: carries over from the engine being replaced what
  // safety and counters need: each cluster's guard memory (last primary and
  // its LSN, the last failover that ran, for the cooldown), the counters and the manual
  // maintenance windows. REQUIRES: `previous` is stopped.
  void AdoptState(const ActionEngine& previous);

  // GET /api/v1/actions: each region_failover's state, its pending decision
  // (candidate, RPO, evidence) and its last reason. No authentication yet
  // (issue 13): bind --web.listen-address to a trusted network.
  http::HttpResponse HandleActions(const http::HttpRequest& request);
  // POST /api/v1/actions/region/approve {"cluster":C,"region":R}: starts the
  // pending regional promotion of C's standby region R (409 when none is
  // pending: the body says why).
  http::HttpResponse HandleRegionApprove(const http::HttpRequest& request);

  // GET and POST /api/v1/maintenance (see MaintenanceWindows).
  http::HttpResponse HandleMaintenance(const http::HttpRequest& request);
  MaintenanceWindows& maintenance() { return maintenance_; }

  // alerting.resend_delay: the exporter derives each alert's valid_until from it.
  int64_t resend_delay_ms() const { return config_.notifier.resend_delay.count(); }

  // Notifier, failover, action and maintenance metrics.
  void CollectMetrics(core::MetricSet& out) const;

  // Blocks until no action is queued or running and the notifier queues are
  // empty, at most `timeout`. For tests and orderly shutdown.
  bool WaitIdle(milliseconds timeout);

 private:
  // `run` on the worker; `drop` instead when Stop() finds it still queued.
  struct Task {
    std::function<void()> run;
    std::function<void()> drop;
  };
  struct Counted {
    std::string a, b, c, d;
    // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
    auto operator<=>(const Counted&) const = default;
  };

  void HandleFailover(size_t index, const Trigger& t, const ActionAlert& alert,
                      const std::string& cluster, TimePoint now);
  // One configured standby region: its guard memory and where its decision stands.
  struct RegionState {
    RegionTracker tracker;
    std::string state = "idle";  // idle, pending, running, done, failed
    std::string last_reason;     // of the last decision logged
    RegionDecision last;         // the latest decision
    std::optional<RegionDecision> pending;
    TimePoint pending_since{};
  };
  void HandleRegion(const RegionFailover& rf, RegionState& rs, TimePoint now);
  void StartRegion(const RegionFailover& rf, RegionState& rs, const RegionDecision& d,
                   const std::string& approved_by, TimePoint now);
  void RunRegion(const RegionFailover& rf, const RegionDecision& d, TimePoint decided_at);
  // Pages every Alertmanager and webhook receiver with the decision and its RPO.
  void PageRegion(const RegionFailover& rf, const RegionDecision& d, const std::string& what,
                  TimePoint now);
  void HandleOnce(const Trigger& t, const ActionAlert& alert, const std::string& cluster,
                  TimePoint now);
  void RunFailover(const Trigger& t, const std::string& cluster, const FailoverDecision& d,
                   const ActionAlert& alert, const std::vector<MemberView>& members,
                   TimePoint decided_at);
  void DropFailover(const Trigger& t, const std::string& cluster, const FailoverDecision& d);
  core::Status Redirect(const std::vector<std::string>& poolers, const std::string& cluster,
                        const std::string& address);
  // `loss_bytes`: the candidate's loss, added to pgdr_failover_loss_bytes_total.
  void CountFailover(const std::string& kind, const std::string& cluster,
                     const std::string& provider, const std::string& result, double loss_bytes);
  void CountAction(const Trigger& t, const std::string& result);
  void Dispatch(Task task);
  void WorkerLoop();

  const ActionsConfig config_;
  Notifier notifier_;
  MaintenanceWindows maintenance_;

  mutable std::mutex mu_;
  std::shared_ptr<const collect::Snapshot> last_snapshot_;  // GUARDED_BY(mu_)
  std::map<std::string, std::vector<MemberView>> members_;  // GUARDED_BY(mu_)
  std::map<std::string, ClusterTracker> trackers_;          // GUARDED_BY(mu_)
  std::vector<RegionState> regions_;                        // GUARDED_BY(mu_): per config_.regions
  std::map<std::string, std::string> decisions_;            // GUARDED_BY(mu_)
  std::set<std::string> in_flight_;                         // GUARDED_BY(mu_): clusters
  std::map<Counted, double> failover_counts_;               // GUARDED_BY(mu_)
  std::map<Counted, double> failover_loss_bytes_;           // GUARDED_BY(mu_)
  std::map<Counted, double> action_counts_;                 // GUARDED_BY(mu_)

  std::mutex work_mu_;
  std::condition_variable work_cv_;
  std::deque<Task> work_;  // GUARDED_BY(work_mu_)
  bool busy_ = false;      // GUARDED_BY(work_mu_)
  bool stop_ = false;      // GUARDED_BY(work_mu_)
  std::thread worker_;
};

}  // namespace pgdr::actions

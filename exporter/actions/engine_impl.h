// ActionEngine's state and its worker, shared by engine.cc (alerts, node
// failover, redirects, notifications) and engine_region.cc (regional
// promotion). Private to the actions module.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "pgdr/actions/engine.h"
#include "pgdr/actions/failover.h"
#include "pgdr/actions/region.h"
#include "pgdr/core/mutex.h"
#include "pgdr/leader/leader_election.h"

namespace pgdr::actions {

class ActionEngine::Impl {
 public:
  explicit Impl(ActionsConfig config);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void Start();
  void Stop();
  void OnAlerts(const std::vector<ActionAlert>& alerts,
                const std::shared_ptr<const collect::Snapshot>& snapshot, TimePoint now);
  void AdoptState(const Impl& previous);
  GuardMemory Memory() const PGDR_EXCLUDES(mu_);
  void RestoreMemory(const GuardMemory& memory) PGDR_EXCLUDES(mu_);
  http::HttpResponse HandleActions(const http::HttpRequest& request) PGDR_EXCLUDES(mu_);
  http::HttpResponse HandleRegionApprove(const http::HttpRequest& request) PGDR_EXCLUDES(mu_);
  http::HttpResponse HandleMaintenance(const http::HttpRequest& request);
  MaintenanceWindows& maintenance() { return maintenance_; }
  const MaintenanceWindows& maintenance() const { return maintenance_; }
  const DecisionLog& history() const { return history_; }
  int64_t resend_delay_ms() const { return config_.notifier.resend_delay.count(); }
  void CollectMetrics(core::MetricSet& out) const;
  bool WaitIdle(milliseconds timeout);
  void SetActingGate(std::shared_ptr<const leader::ActingGate> gate) PGDR_EXCLUDES(mu_);

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
                      const std::string& cluster, TimePoint now) PGDR_REQUIRES(mu_);
  // One configured standby region: its guard memory and where its decision stands.
  struct RegionState {
    RegionTracker tracker;
    std::string state = "idle";  // idle, pending, running, done, failed
    std::string last_reason;     // of the last decision logged
    RegionDecision last;         // the latest decision
    std::optional<RegionDecision> pending;
    TimePoint pending_since{};
  };
  void HandleRegion(const RegionFailover& rf, RegionState& rs, TimePoint now) PGDR_REQUIRES(mu_);
  void StartRegion(const RegionFailover& rf, RegionState& rs, const RegionDecision& d,
                   const std::string& approved_by, TimePoint now) PGDR_REQUIRES(mu_);
  void RunRegion(const RegionFailover& rf, const RegionDecision& d, TimePoint decided_at)
      PGDR_EXCLUDES(mu_);
  // Pages every Alertmanager and webhook receiver with the decision and its RPO.
  void PageRegion(const RegionFailover& rf, const RegionDecision& d, const std::string& what,
                  TimePoint now);
  void HandleOnce(const Trigger& t, const ActionAlert& alert, const std::string& cluster,
                  TimePoint now) PGDR_REQUIRES(mu_);
  void RunFailover(const Trigger& t, const std::string& cluster, const FailoverDecision& d,
                   const ActionAlert& alert, const std::vector<MemberView>& members,
                   TimePoint decided_at) PGDR_EXCLUDES(mu_);
  void DropFailover(const Trigger& t, const std::string& cluster, const FailoverDecision& d)
      PGDR_EXCLUDES(mu_);
  core::Status Redirect(const std::vector<std::string>& poolers, const std::string& cluster,
                        const std::string& address);
  // `loss_bytes`: the candidate's loss, added to pgdr_failover_loss_bytes_total.
  void CountFailover(const std::string& kind, const std::string& cluster,
                     const std::string& provider, const std::string& result, double loss_bytes)
      PGDR_REQUIRES(mu_);
  void CountAction(const Trigger& t, const std::string& result) PGDR_REQUIRES(mu_);
  // Whether this replica may act now (no gate: always); `why` when not.
  bool MayAct(std::string* why) const PGDR_REQUIRES(mu_);
  // A decision to act that the gate withheld: logged, counted and remembered.
  void Withhold(const Trigger& t, const std::string& cluster, const std::string& alertname,
                TimePoint now, const std::string& why, const std::string& summary)
      PGDR_REQUIRES(mu_);
  // Records one decision of `t` for `cluster` in history_.
  void Remember(const Trigger& t, const std::string& cluster, const std::string& alertname,
                TimePoint at, std::string result, std::string reason, std::string summary,
                std::map<std::string, std::string> evidence = {});
  void Dispatch(Task task) PGDR_EXCLUDES(work_mu_);
  void WorkerLoop() PGDR_EXCLUDES(work_mu_);

  const ActionsConfig config_;
  Notifier notifier_;
  MaintenanceWindows maintenance_;
  DecisionLog history_;

  // Lock order: mu_ before work_mu_ (OnAlerts dispatches holding mu_).
  mutable core::Mutex mu_;
  std::shared_ptr<const collect::Snapshot> last_snapshot_ PGDR_GUARDED_BY(mu_);
  std::map<std::string, std::vector<MemberView>> members_ PGDR_GUARDED_BY(mu_);
  std::map<std::string, ClusterTracker> trackers_ PGDR_GUARDED_BY(mu_);
  std::vector<RegionState> regions_ PGDR_GUARDED_BY(mu_);  // per config_.regions
  std::map<std::string, std::string> decisions_ PGDR_GUARDED_BY(mu_);
  std::set<std::string> in_flight_ PGDR_GUARDED_BY(mu_);  // clusters
  std::map<Counted, double> failover_counts_ PGDR_GUARDED_BY(mu_);
  std::map<Counted, double> failover_loss_bytes_ PGDR_GUARDED_BY(mu_);
  std::map<Counted, double> action_counts_ PGDR_GUARDED_BY(mu_);
  std::map<Counted, double> not_leader_counts_ PGDR_GUARDED_BY(mu_);     // trigger, action
  std::shared_ptr<const leader::ActingGate> gate_ PGDR_GUARDED_BY(mu_);  // null: always act

  core::Mutex work_mu_;
  std::condition_variable_any work_cv_;
  std::deque<Task> work_ PGDR_GUARDED_BY(work_mu_);
  bool busy_ PGDR_GUARDED_BY(work_mu_) = false;
  bool stop_ PGDR_GUARDED_BY(work_mu_) = false;
  std::thread worker_;
};

}  // namespace pgdr::actions

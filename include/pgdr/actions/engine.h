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
// The same decisions, with their reason and evidence, are kept for 24 h in
// history() (GET /api/v1/decisions and the status page).
//
// Thread-safety: every public method is safe from any thread. OnAlerts()
// never blocks on a database or a remote HTTP server.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pgdr/actions/actions_config.h"
#include "pgdr/actions/decision_log.h"
#include "pgdr/collect/snapshot.h"
#include "pgdr/config/config.h"
#include "pgdr/core/metric_set.h"
#include "pgdr/http/server.h"
#include "pgdr/leader/leader_election.h"

namespace pgdr::actions {

// What the guards know only from having watched the cluster, kept across a
// restart. Why: pgdr often dies with the node its primary ran on (the same
// Kubernetes node, the same VM host); restarted elsewhere it would otherwise
// refuse the failover it exists for (unknown_primary_lsn: it never saw the
// primary) and forget the cooldown. The confirmation clocks (lost_since,
// primary_region_down_since) are not kept: they are measured again.
struct GuardMemory {
  struct Primary {
    std::string member;               // empty: never seen
    std::optional<double> lsn_bytes;  // its LSN then
    std::optional<TimePoint> seen;    // when that LSN was collected
    std::string region;               // regional trackers only
    bool operator==(const Primary&) const = default;
  };
  struct Cluster {
    Primary primary;
    std::optional<TimePoint> last_failover;  // the cooldown
    bool operator==(const Cluster&) const = default;
  };
  struct Region {
    Primary primary;
    std::optional<TimePoint> last_promotion;  // the cooldown
    bool operator==(const Region&) const = default;
  };
  std::map<std::string, Cluster> clusters;                        // by cluster
  std::map<std::pair<std::string, std::string>, Region> regions;  // by (cluster, standby region)
  bool operator==(const GuardMemory&) const = default;
};

class ActionEngine {
 public:
  // Validates the config sections (see actions_config.h).
  static core::Result<std::unique_ptr<ActionEngine>> Create(const config::Config& config,
                                                            const config::OwnedSections& sections);
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
  // its LSN, the last failover that ran, for the cooldown), the counters, the manual
  // maintenance windows and the decision history. REQUIRES: `previous` is stopped.
  void AdoptState(const ActionEngine& previous);

  // For the state file across a restart: what the guards remember and a
  // restart must not forget (GuardMemory), and restoring it; clusters and
  // regions no longer configured are dropped. Manual windows go through
  // maintenance().
  GuardMemory Memory() const;
  void RestoreMemory(const GuardMemory& memory);

  // GET /api/v1/actions: each region_failover's state, its pending decision
  // (candidate, RPO, evidence) and its last reason. The HTTP layer gates the
  // POSTs (--web.enable-admin-api, the web config's basic auth).
  http::HttpResponse HandleActions(const http::HttpRequest& request);
  // POST /api/v1/actions/region/approve {"cluster":C,"region":R}: starts the
  // pending regional promotion of C's standby region R (409 when none is
  // pending: the body says why).
  http::HttpResponse HandleRegionApprove(const http::HttpRequest& request);

  // GET and POST /api/v1/maintenance (see MaintenanceWindows).
  http::HttpResponse HandleMaintenance(const http::HttpRequest& request);
  MaintenanceWindows& maintenance();
  const MaintenanceWindows& maintenance() const;

  // The decisions of the last 24 h (see DecisionLog).
  const DecisionLog& history() const;

  // alerting.resend_delay: the exporter derives each alert's valid_until from it.
  int64_t resend_delay_ms() const;

  // Notifier, failover, action and maintenance metrics.
  void CollectMetrics(core::MetricSet& out) const;

  // With leader election (leader/leader_election.h): asked before every
  // failover, redirect, webhook, exec action and regional promotion that is
  // not a dry run, and again on the worker just before a provider runs. A
  // replica it refuses records the decision as result "not_leader" (history,
  // log, pgdr_actions_not_leader_total) and decides again on the next
  // evaluation, so a replica that takes the lease over acts on what is still
  // firing. Notifications to Alertmanagers are not gated: every replica sends
  // them and Alertmanager deduplicates, as for Prometheus HA pairs; alerting
  // webhooks (which deduplicate nothing) are sent by the holder only.
  // Null (the default): this replica always acts.
  void SetActingGate(std::shared_ptr<const leader::ActingGate> gate);

  // Blocks until no action is queued or running and the notifier queues are
  // empty, at most `timeout`. For tests and orderly shutdown.
  bool WaitIdle(milliseconds timeout);

 private:
  class Impl;  // engine.cc: the worker, the guards' memory, the counters
  std::unique_ptr<Impl> impl_;
};

}  // namespace pgdr::actions

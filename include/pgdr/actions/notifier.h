// Notifiers: alerts to Alertmanager (API v2) and to webhooks (the
// Alertmanager webhook JSON, version "4"), as Prometheus sends them.
//
// Update() receives the evaluator's full alert list after each evaluation
// and decides what is due: firing alerts are (re)sent every `resend_delay`
// with endsAt = valid_until (else now + 4 * max(resend_delay, evaluation
// interval)); resolved alerts are sent with endsAt = resolved_at and resent
// for 15 minutes; pending alerts are never sent. Webhooks get a group
// (group_by labels) when its alerts or their states change, and again every
// `repeat_interval`.
//
// Each receiver has its own bounded queue and sender thread, so a dead
// Alertmanager delays nobody else; a full queue drops its oldest message and
// counts it. Failed sends are retried with exponential backoff.
//
// Secrets (basic-auth passwords, bearer tokens) are read at construction
// from env or files and never logged.
//
// Thread-safety: every public method is safe from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pgdr/actions/alert.h"
#include "pgdr/core/metric_set.h"
#include "pgdr/core/mutex.h"
#include "pgdr/core/status.h"
#include "pgdr/http/client.h"

namespace pgdr::actions {

using std::chrono::milliseconds;

struct ReceiverConfig {
  enum class Kind { kAlertmanager, kWebhook };
  Kind kind = Kind::kAlertmanager;
  std::string name;  // the `receiver` label
  std::string url;   // Alertmanager: base URL (/api/v2/alerts is appended); webhook: full URL
  std::string basic_user, basic_password;  // resolved secrets
  std::string bearer_token;                // resolved secret
  std::string ca_file;
  milliseconds timeout{10000};  // per attempt, default 10s
  int max_retries = 3;          // after the first attempt, default 3
  milliseconds backoff{500};    // first retry delay, doubled each time, default 500ms
  std::vector<Matcher> match;   // webhook: only alerts matching all; empty: every alert
  std::vector<std::string> group_by{"alertname", "cluster"};  // webhook grouping
  milliseconds repeat_interval{std::chrono::hours(4)};        // webhook, default 4h
  bool send_resolved = true;  // webhook: also notify when a group's alerts resolve
  bool on_demand = false;     // fed only through Enqueue (the `webhook` action), not by Update
};

// A request to `receiver`'s endpoint with its credentials, CA file and
// `timeout` set: what notifications and the HTTP failover providers share.
// The caller sets method, url, body and Content-Type.
http::ClientRequest AuthorizedRequest(const ReceiverConfig& receiver, milliseconds timeout);
// OK for a 2xx response; otherwise a Status naming the request (method and
// URL without query) and the HTTP status or the transport error.
core::Status CheckSent(const core::Result<http::ClientResponse>& sent,
                       const http::ClientRequest& request);

struct NotifierConfig {
  std::vector<ReceiverConfig> receivers;
  milliseconds resend_delay{60000};         // default 1m
  milliseconds evaluation_interval{15000};  // the evaluator's global interval
  size_t queue_capacity = 1000;             // messages per receiver, default 1000
  std::string external_url;                 // webhook externalURL
  LabelMap external_labels;                 // added to alerts (alert labels win)
};

// Prometheus's resolved-alert retention: resolved alerts are resent this long.
inline constexpr auto kResolvedRetention = std::chrono::minutes(15);

// The Alertmanager API v2 body for these alerts (a JSON list).
nlohmann::json AlertmanagerBody(const std::vector<ActionAlert>& alerts, TimePoint now,
                                milliseconds ends_after, const LabelMap& external_labels);

// The Alertmanager webhook message for one group of alerts.
nlohmann::json WebhookBody(const std::string& receiver, const std::vector<std::string>& group_by,
                           const std::vector<ActionAlert>& alerts, const std::string& external_url,
                           const LabelMap& external_labels);

class Notifier {
 public:
  explicit Notifier(NotifierConfig config);
  ~Notifier();  // stops and joins the sender threads; queued messages are dropped
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Starts one sender thread per receiver; idempotent.
  void Start();
  void Stop();

  // Sends what is due among `alerts` (the full current list). With
  // `webhooks` false (a replica that is not the leader) webhook groups are
  // tracked but not sent: unlike Alertmanager, a webhook deduplicates nothing.
  void Update(const std::vector<ActionAlert>& alerts, TimePoint now, bool webhooks = true);

  // Queues a prepared JSON body for the receiver named `receiver`.
  core::Status Enqueue(const std::string& receiver, std::string body);

  // pgdr_notifications_total{receiver,result}, pgdr_notification_queue_dropped_total{receiver},
  // pgdr_notification_queue_length{receiver}.
  void CollectMetrics(core::MetricSet& out) const;

  // Blocks until every queue is empty and idle, at most `timeout` (tests).
  bool Drain(milliseconds timeout);

 private:
  class Receiver;
  struct SentState {
    TimePoint last_sent{};
    TimePoint resolved_at{};
  };
  struct GroupState {
    std::string content;  // fingerprints and states last sent
    TimePoint last_sent{};
  };

  const NotifierConfig config_;
  std::vector<std::unique_ptr<Receiver>> receivers_;
  core::Mutex mu_;
  std::map<std::string, SentState> sent_ PGDR_GUARDED_BY(mu_);     // by fingerprint (Alertmanagers)
  std::map<std::string, GroupState> groups_ PGDR_GUARDED_BY(mu_);  // receiver + group key
};

}  // namespace pgdr::actions

#include "pgdr/actions/notifier.h"

#include <condition_variable>
#include <deque>
#include <set>
#include <thread>

#include "pgdr/core/log.h"

namespace pgdr::actions {

namespace {

constexpr size_t kMaxBatch = 64;  // alerts per Alertmanager request, as Prometheus

LabelMap WithExternal(const LabelMap& labels, const LabelMap& external) {
  LabelMap out = labels;
  for (const auto& [k, v] : external) out.emplace(k, v);  // alert labels win
  return out;
}

nlohmann::json ToJson(const LabelMap& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

bool Sendable(const ActionAlert& a) { return a.state != ActionAlert::State::kPending; }

}  // namespace

nlohmann::json AlertmanagerBody(const std::vector<ActionAlert>& alerts, TimePoint now,
                                milliseconds ends_after, const LabelMap& external_labels) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& a : alerts) {
    TimePoint ends;
    if (a.state == ActionAlert::State::kResolved) {
      ends = a.resolved_at;
    } else {
      ends = a.valid_until > TimePoint{} ? a.valid_until : now + ends_after;
    }
    nlohmann::json j = {{"labels", ToJson(WithExternal(a.labels, external_labels))},
                        {"annotations", ToJson(a.annotations)},
                        {"startsAt", FormatRfc3339(a.fired_at)},
                        {"endsAt", FormatRfc3339(ends)}};
    if (!a.generator_url.empty()) j["generatorURL"] = a.generator_url;
    out.push_back(std::move(j));
  }
  return out;
}

nlohmann::json WebhookBody(const std::string& receiver, const std::vector<std::string>& group_by,
                           const std::vector<ActionAlert>& alerts, const std::string& external_url,
                           const LabelMap& external_labels) {
  std::vector<LabelMap> labels;
  labels.reserve(alerts.size());
  for (const auto& a : alerts) labels.push_back(WithExternal(a.labels, external_labels));
  LabelMap group, common, common_annotations;
  if (!alerts.empty()) {
    for (const auto& g : group_by) {
      if (const auto it = labels[0].find(g); it != labels[0].end()) group[g] = it->second;
    }
    common = labels[0];
    common_annotations = alerts[0].annotations;
  }
  auto intersect = [](LabelMap& acc, const LabelMap& m) {
    for (auto it = acc.begin(); it != acc.end();) {
      const auto f = m.find(it->first);
      it = (f == m.end() || f->second != it->second) ? acc.erase(it) : std::next(it);
    }
  };
  bool firing = false;
  nlohmann::json list = nlohmann::json::array();
  for (size_t i = 0; i < alerts.size(); ++i) {
    const auto& a = alerts[i];
    intersect(common, labels[i]);
    intersect(common_annotations, a.annotations);
    const bool resolved = a.state == ActionAlert::State::kResolved;
    firing = firing || !resolved;
    list.push_back({{"status", resolved ? "resolved" : "firing"},
                    {"labels", ToJson(labels[i])},
                    {"annotations", ToJson(a.annotations)},
                    {"startsAt", FormatRfc3339(a.fired_at)},
                    {"endsAt", resolved ? FormatRfc3339(a.resolved_at) : "0001-01-01T00:00:00Z"},
                    {"generatorURL", a.generator_url},
                    {"fingerprint", Fingerprint(a.labels)}});
  }
  std::string key = "{}:{";
  bool first = true;
  for (const auto& [k, v] : group) {
    if (!first) key += ", ";
    key += k;
    key += "=\"";
    key += v;
    key += '"';
    first = false;
  }
  key += "}";
  return {{"version", "4"},
          {"groupKey", key},
          {"truncatedAlerts", 0},
          {"status", firing ? "firing" : "resolved"},
          {"receiver", receiver},
          {"groupLabels", ToJson(group)},
          {"commonLabels", ToJson(common)},
          {"commonAnnotations", ToJson(common_annotations)},
          {"externalURL", external_url},
          {"alerts", list}};
}

// One receiver: a bounded queue of JSON bodies and the thread sending them.
class Notifier::Receiver {
 public:
  Receiver(ReceiverConfig config, size_t capacity)
      : config_(std::move(config)), capacity_(capacity) {
    url_ = config_.url;
    if (config_.kind == ReceiverConfig::Kind::kAlertmanager) {
      while (!url_.empty() && url_.back() == '/') url_.pop_back();
      if (url_.size() < 14 || url_.substr(url_.size() - 14) != "/api/v2/alerts") {
        url_ += "/api/v2/alerts";
      }
    }
  }
  ~Receiver() { Stop(); }

  const ReceiverConfig& config() const { return config_; }

  void Start() {
    const core::MutexLock lock(mu_);
    if (thread_.joinable()) return;
    stop_ = false;
    thread_ = std::thread([this] { Run(); });
  }

  void Stop() {
    {
      const core::MutexLock lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void Push(std::string body) {
    {
      const core::MutexLock lock(mu_);
      if (queue_.size() >= capacity_) {
        queue_.pop_front();
        ++dropped_;
        core::Log(core::LogLevel::kWarn, "notification queue full, oldest message dropped",
                  {{"receiver", config_.name}});
      }
      queue_.push_back(std::move(body));
    }
    cv_.notify_all();
  }

  bool Idle() {
    const core::MutexLock lock(mu_);
    return queue_.empty() && !busy_;
  }

  void Collect(core::MetricSet& out) {
    const core::MutexLock lock(mu_);
    const core::Labels r{{"receiver", config_.name}};
    static constexpr const char* kHelp =
        "Notifications (one Alertmanager request or webhook message) by final result, after "
        "retries.";
    out.Counter("pgdr_notifications_total", kHelp,
                {{"receiver", config_.name}, {"result", "success"}}, static_cast<double>(success_));
    out.Counter("pgdr_notifications_total", kHelp,
                {{"receiver", config_.name}, {"result", "failed"}}, static_cast<double>(failed_));
    out.Counter("pgdr_notification_queue_dropped_total",
                "Notifications dropped because the receiver's queue was full.", r,
                static_cast<double>(dropped_));
    out.Gauge("pgdr_notification_queue_length", "Notifications waiting to be sent.", r,
              static_cast<double>(queue_.size()));
  }

 private:
  void Run() {
    core::MutexLock lock(mu_);
    while (true) {
      while (!stop_ && queue_.empty()) cv_.wait(lock);
      if (stop_) return;
      std::string body = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      lock.unlock();
      const bool ok = SendWithRetries(body);
      lock.lock();
      busy_ = false;
      ok ? ++success_ : ++failed_;
    }
  }

  bool SendWithRetries(const std::string& body) {
    http::ClientRequest post = AuthorizedRequest(config_, config_.timeout);
    post.method = "POST";
    post.url = url_;
    post.headers.push_back("Content-Type: application/json");
    post.body = body;
    milliseconds delay = config_.backoff;
    for (int attempt = 0;; ++attempt) {
      const auto sent = client_.Send(post);
      const core::Status st = CheckSent(sent, post);
      if (st.ok()) return true;
      // A 4xx other than 429 will not get better by retrying.
      const long code = sent.ok() ? sent->status : 0;
      const bool permanent = code >= 400 && code < 500 && code != 429;
      if (permanent || attempt >= config_.max_retries) {
        core::Log(core::LogLevel::kError, "notification failed",
                  {{"receiver", config_.name},
                   {"error", st.message()},
                   {"attempts", std::to_string(attempt + 1)}});
        return false;
      }
      if (WaitStop(std::chrono::steady_clock::now() + delay)) return false;
      delay = std::min(delay * 2, milliseconds(30000));
    }
  }

  // True once Stop() was called, waiting for it until `deadline`.
  bool WaitStop(std::chrono::steady_clock::time_point deadline) PGDR_EXCLUDES(mu_) {
    core::MutexLock lock(mu_);
    while (!stop_) {
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) break;
    }
    return stop_;
  }

  const ReceiverConfig config_;
  const size_t capacity_;
  http::Client client_;  // used by thread_ only
  std::string url_;
  core::Mutex mu_;
  std::condition_variable_any cv_;
  std::deque<std::string> queue_ PGDR_GUARDED_BY(mu_);
  bool stop_ PGDR_GUARDED_BY(mu_) = false;
  bool busy_ PGDR_GUARDED_BY(mu_) = false;
  uint64_t success_ PGDR_GUARDED_BY(mu_) = 0;
  uint64_t failed_ PGDR_GUARDED_BY(mu_) = 0;
  uint64_t dropped_ PGDR_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

http::ClientRequest AuthorizedRequest(const ReceiverConfig& receiver, milliseconds timeout) {
  http::ClientRequest request;
  request.url = receiver.url;
  request.timeout = timeout;
  request.basic_user = receiver.basic_user;
  request.basic_password = receiver.basic_password;
  request.tls.ca_file = receiver.ca_file;
  if (!receiver.bearer_token.empty()) {
    request.headers.push_back("Authorization: Bearer " + receiver.bearer_token);
  }
  return request;
}

core::Status CheckSent(const core::Result<http::ClientResponse>& sent,
                       const http::ClientRequest& request) {
  if (!sent.ok()) return sent.status();
  if (sent->status >= 200 && sent->status < 300) return core::Status::OK();
  return core::Status::IOError(request.method + " " + http::RedactUrl(request.url) + ": HTTP " +
                               std::to_string(sent->status));
}

Notifier::Notifier(NotifierConfig config) : config_(std::move(config)) {
  for (const auto& r : config_.receivers) {
    receivers_.push_back(std::make_unique<Receiver>(r, config_.queue_capacity));
  }
}

Notifier::~Notifier() { Stop(); }

void Notifier::Start() {
  for (auto& r : receivers_) r->Start();
}

void Notifier::Stop() {
  for (auto& r : receivers_) r->Stop();
}

void Notifier::Update(const std::vector<ActionAlert>& alerts, TimePoint now, bool webhooks) {
  const core::MutexLock lock(mu_);
  // Alertmanagers: Prometheus's needsSending().
  std::vector<ActionAlert> due;
  std::set<std::string> seen;
  for (const auto& a : alerts) {
    if (!Sendable(a)) continue;
    const std::string fp = Fingerprint(a.labels);
    seen.insert(fp);
    if (a.state == ActionAlert::State::kResolved && now > a.resolved_at + kResolvedRetention) {
      continue;
    }
    SentState& s = sent_[fp];
    const bool newly_resolved =
        a.state == ActionAlert::State::kResolved && s.last_sent < a.resolved_at;
    // Prometheus: LastSentAt.Add(resendDelay).Before(ts), strictly.
    if (newly_resolved || s.last_sent + config_.resend_delay < now) {
      due.push_back(a);
      s.last_sent = now;
    }
  }
  for (auto it = sent_.begin(); it != sent_.end();) {
    it = seen.count(it->first) ? std::next(it) : sent_.erase(it);
  }
  const milliseconds ends_after = 4 * std::max(config_.resend_delay, config_.evaluation_interval);
  for (size_t i = 0; i < due.size(); i += kMaxBatch) {
    const std::vector<ActionAlert> batch(due.begin() + i,
                                         due.begin() + std::min(due.size(), i + kMaxBatch));
    const std::string body =
        AlertmanagerBody(batch, now, ends_after, config_.external_labels).dump();
    for (auto& r : receivers_) {
      if (r->config().kind == ReceiverConfig::Kind::kAlertmanager && !r->config().on_demand) {
        r->Push(body);
      }
    }
  }
  // Webhooks: one message per changed group.
  std::set<std::string> live_groups;
  for (auto& r : receivers_) {
    const ReceiverConfig& rc = r->config();
    if (rc.kind != ReceiverConfig::Kind::kWebhook || rc.on_demand) continue;
    std::map<std::string, std::vector<ActionAlert>> groups;
    for (const auto& a : alerts) {
      if (!Sendable(a) || !MatchAll(rc.match, a.labels)) continue;
      if (a.state == ActionAlert::State::kResolved && !rc.send_resolved) continue;
      if (a.state == ActionAlert::State::kResolved && now > a.resolved_at + kResolvedRetention) {
        continue;
      }
      std::string key = rc.name + "\x1f";
      for (const auto& g : rc.group_by) {
        const auto it = a.labels.find(g);
        key += g + "=" + (it == a.labels.end() ? "" : it->second) + "\x1f";
      }
      groups[key].push_back(a);
    }
    for (auto& [key, list] : groups) {
      std::string content;
      bool any_firing = false;
      for (const auto& a : list) {
        const bool firing = a.state == ActionAlert::State::kFiring;
        any_firing = any_firing || firing;
        content += Fingerprint(a.labels) + (firing ? "F" : "R") + ";";
      }
      GroupState& g = groups_[key];
      live_groups.insert(key);
      const bool changed = content != g.content;
      const bool repeat = any_firing && g.last_sent + rc.repeat_interval <= now;
      // A group that only ever held resolved alerts was never paged: stay quiet.
      if (!changed && !repeat) continue;
      if (!any_firing && g.content.empty()) continue;
      g.content = content;
      g.last_sent = now;
      if (!webhooks) continue;  // tracked, so a new leader does not repeat what is current
      r->Push(WebhookBody(rc.name, rc.group_by, list, config_.external_url, config_.external_labels)
                  .dump());
    }
  }
  for (auto it = groups_.begin(); it != groups_.end();) {
    it = live_groups.count(it->first) ? std::next(it) : groups_.erase(it);
  }
}

core::Status Notifier::Enqueue(const std::string& receiver, std::string body) {
  for (auto& r : receivers_) {
    if (r->config().name == receiver) {
      r->Push(std::move(body));
      return core::Status::OK();
    }
  }
  return core::Status::NotFound("no receiver named \"" + receiver + "\"");
}

void Notifier::CollectMetrics(core::MetricSet& out) const {
  for (const auto& r : receivers_) r->Collect(out);
}

bool Notifier::Drain(milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    bool idle = true;
    for (auto& r : receivers_) idle = idle && r->Idle();
    if (idle) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return false;
}

}  // namespace pgdr::actions

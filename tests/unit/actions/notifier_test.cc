// Notifier payloads (Alertmanager v2, webhook v4), Prometheus's resend
// schedule, retries and the bounded queue, against a scripted local HTTP server.
#include "pgdr/actions/notifier.h"

#include <gtest/gtest.h>

#include "test_http_sink.h"

namespace pgdr::actions {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const TimePoint kT0 = Clock::from_time_t(1'800'000'000);

ActionAlert Firing(std::string name, std::string cluster = "prod") {
  ActionAlert a;
  a.labels = {{"alertname", std::move(name)}, {"cluster", std::move(cluster)}};
  a.annotations = {{"runbook_url", "https://example/runbook"}};
  a.state = ActionAlert::State::kFiring;
  a.active_at = kT0 - seconds(60);
  a.fired_at = kT0;
  a.generator_url = "http://pgdr/graph";
  return a;
}

double Metric(const core::MetricSet& m, const std::string& name, const std::string& result) {
  const auto it = m.families().find(name);
  if (it == m.families().end()) return -1;
  for (const auto& s : it->second.metric) {
    bool match = result.empty();
    for (const auto& l : s.label) match = match || (l.name == "result" && l.value == result);
    if (match) return s.counter.value;
  }
  return -1;
}

std::string Body(const std::string& request) {
  return request.substr(request.find("\r\n\r\n") + 4);
}
std::string RequestLine(const std::string& request) {
  return request.substr(0, request.find("\r\n"));
}
// The values of every `name:` header line of a raw request's head.
std::vector<std::string> Headers(const std::string& request, const std::string& name) {
  std::vector<std::string> values;
  const std::string head = request.substr(0, request.find("\r\n\r\n"));
  const std::string prefix = "\r\n" + name + ":";
  for (size_t at = head.find(prefix); at != std::string::npos; at = head.find(prefix, at + 1)) {
    const size_t start = head.find_first_not_of(' ', at + prefix.size());
    values.push_back(head.substr(start, head.find("\r\n", start) - start));
  }
  return values;
}

TEST(NotifierPayload, AlertmanagerEndsAt) {
  auto firing = Firing("A");
  auto resolved = Firing("B");
  resolved.state = ActionAlert::State::kResolved;
  resolved.resolved_at = kT0 + seconds(30);
  auto valid = Firing("C");
  valid.valid_until = kT0 + minutes(2);
  const auto j = AlertmanagerBody({firing, resolved, valid}, kT0 + seconds(40), minutes(4),
                                  {{"env", "lab"}, {"cluster", "ignored"}});
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["labels"]["env"], "lab");
  EXPECT_EQ(j[0]["labels"]["cluster"], "prod");  // alert labels win
  EXPECT_EQ(j[0]["startsAt"], FormatRfc3339(kT0));
  EXPECT_EQ(j[0]["endsAt"], FormatRfc3339(kT0 + seconds(40) + minutes(4)));
  EXPECT_EQ(j[0]["generatorURL"], "http://pgdr/graph");
  EXPECT_EQ(j[0]["annotations"]["runbook_url"], "https://example/runbook");
  EXPECT_EQ(j[1]["endsAt"], FormatRfc3339(kT0 + seconds(30)));
  EXPECT_EQ(j[2]["endsAt"], FormatRfc3339(kT0 + minutes(2)));
}

TEST(NotifierPayload, WebhookVersion4) {
  auto a = Firing("A");
  a.labels["member"] = "m1";
  auto b = Firing("A");
  b.labels["member"] = "m2";
  b.state = ActionAlert::State::kResolved;
  b.resolved_at = kT0 + seconds(5);
  const auto j = WebhookBody("ops", {"alertname", "cluster"}, {a, b}, "http://pgdr:9688", {});
  EXPECT_EQ(j["version"], "4");
  EXPECT_EQ(j["status"], "firing");
  EXPECT_EQ(j["receiver"], "ops");
  EXPECT_EQ(j["groupKey"], R"({}:{alertname="A", cluster="prod"})");
  EXPECT_EQ(j["groupLabels"], nlohmann::json({{"alertname", "A"}, {"cluster", "prod"}}));
  EXPECT_EQ(j["commonLabels"], nlohmann::json({{"alertname", "A"}, {"cluster", "prod"}}));
  EXPECT_EQ(j["commonAnnotations"]["runbook_url"], "https://example/runbook");
  EXPECT_EQ(j["externalURL"], "http://pgdr:9688");
  ASSERT_EQ(j["alerts"].size(), 2u);
  EXPECT_EQ(j["alerts"][0]["status"], "firing");
  EXPECT_EQ(j["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(j["alerts"][0]["fingerprint"], Fingerprint(a.labels));
  EXPECT_EQ(j["alerts"][1]["status"], "resolved");
  EXPECT_EQ(j["alerts"][1]["endsAt"], FormatRfc3339(kT0 + seconds(5)));
}

NotifierConfig OneReceiver(ReceiverConfig::Kind kind, const std::string& url) {
  NotifierConfig c;
  ReceiverConfig r;
  r.kind = kind;
  r.name = "r";
  r.url = url;
  r.backoff = milliseconds(10);
  c.receivers.push_back(r);
  c.resend_delay = minutes(1);
  c.evaluation_interval = seconds(15);
  return c;
}

TEST(Notifier, AlertmanagerResendScheduleAsPrometheus) {
  TestHttpSink sink;
  Notifier n(OneReceiver(ReceiverConfig::Kind::kAlertmanager, sink.url()));
  n.Start();
  auto a = Firing("A");
  auto pending = Firing("P");
  pending.state = ActionAlert::State::kPending;
  n.Update({a, pending}, kT0);                                  // sent
  n.Update({a, pending}, kT0 + seconds(30));                    // within resend_delay: not sent
  n.Update({a, pending}, kT0 + seconds(60));                    // not strictly after last send + 1m
  n.Update({a, pending}, kT0 + seconds(60) + milliseconds(1));  // resent
  a.state = ActionAlert::State::kResolved;
  a.resolved_at = kT0 + seconds(61);
  n.Update({a}, kT0 + seconds(61));                // resolved: sent at once
  n.Update({a}, kT0 + seconds(90));                // not yet
  n.Update({a}, kT0 + seconds(122));               // resent while within 15m
  n.Update({a}, kT0 + seconds(61) + minutes(16));  // retention over: dropped
  ASSERT_TRUE(n.Drain(seconds(10)));
  const auto reqs = sink.requests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(RequestLine(reqs[0]), "POST /api/v2/alerts HTTP/1.1");
  const auto first = nlohmann::json::parse(Body(reqs[0]));
  ASSERT_EQ(first.size(), 1u);  // pending alerts are never sent
  EXPECT_EQ(first[0]["labels"]["alertname"], "A");
  EXPECT_EQ(first[0]["endsAt"], FormatRfc3339(kT0 + minutes(4)));
  const auto resolved = nlohmann::json::parse(Body(reqs[2]));
  EXPECT_EQ(resolved[0]["endsAt"], FormatRfc3339(kT0 + seconds(61)));
  core::MetricSet m;
  n.CollectMetrics(m);
  EXPECT_EQ(Metric(m, "pgdr_notifications_total", "success"), 4);
}

TEST(Notifier, RetriesWithBackoffThenCountsFailure) {
  TestHttpSink sink({503, 503, 200, 500, 500, 500, 500});
  auto config = OneReceiver(ReceiverConfig::Kind::kAlertmanager, sink.url());
  config.receivers[0].max_retries = 3;
  Notifier n(config);
  n.Start();
  n.Update({Firing("A")}, kT0);
  ASSERT_TRUE(n.Drain(seconds(10)));
  n.Update({Firing("A")}, kT0 + minutes(1) + seconds(1));
  ASSERT_TRUE(n.Drain(seconds(10)));
  EXPECT_EQ(sink.requests().size(), 7u);
  core::MetricSet m;
  n.CollectMetrics(m);
  EXPECT_EQ(Metric(m, "pgdr_notifications_total", "success"), 1);
  EXPECT_EQ(Metric(m, "pgdr_notifications_total", "failed"), 1);
}

TEST(Notifier, ClientErrorsAreNotRetried) {
  TestHttpSink sink({400});
  Notifier n(OneReceiver(ReceiverConfig::Kind::kAlertmanager, sink.url()));
  n.Start();
  n.Update({Firing("A")}, kT0);
  ASSERT_TRUE(n.Drain(seconds(10)));
  EXPECT_EQ(sink.requests().size(), 1u);
}

TEST(Notifier, BoundedQueueDropsOldestAndCounts) {
  // Not started: nothing is sent, the queue fills.
  auto config = OneReceiver(ReceiverConfig::Kind::kAlertmanager, "http://127.0.0.1:9");
  config.queue_capacity = 2;
  Notifier n(config);
  for (const char* name : {"A0", "A1", "A2", "A3", "A4"}) n.Update({Firing(name)}, kT0);
  core::MetricSet m;
  n.CollectMetrics(m);
  EXPECT_EQ(m.families().at("pgdr_notification_queue_dropped_total").metric[0].counter.value, 3);
  EXPECT_EQ(m.families().at("pgdr_notification_queue_length").metric[0].gauge.value, 2);
}

TEST(Notifier, WebhookOnChangeAndRepeat) {
  TestHttpSink sink;
  auto config = OneReceiver(ReceiverConfig::Kind::kWebhook, sink.url("/hook"));
  config.receivers[0].repeat_interval = minutes(10);
  config.receivers[0].match = *ParseMatchers(R"(cluster="prod")");
  Notifier n(config);
  n.Start();
  auto a = Firing("A");
  n.Update({a, Firing("A", "test")}, kT0);  // one group; the test cluster is filtered out
  n.Update({a}, kT0 + minutes(1));          // unchanged: nothing
  n.Update({a}, kT0 + minutes(10));         // repeat
  a.state = ActionAlert::State::kResolved;
  a.resolved_at = kT0 + minutes(11);
  n.Update({a}, kT0 + minutes(11));  // resolved
  n.Update({a}, kT0 + minutes(12));  // nothing more
  ASSERT_TRUE(n.Drain(seconds(10)));
  const auto reqs = sink.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(RequestLine(reqs[0]), "POST /hook HTTP/1.1");
  const auto j = nlohmann::json::parse(Body(reqs[0]));
  EXPECT_EQ(j["version"], "4");
  EXPECT_EQ(j["alerts"].size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(Body(reqs[2]))["status"], "resolved");
}

TEST(Notifier, BasicAuth) {
  TestHttpSink sink;
  auto config = OneReceiver(ReceiverConfig::Kind::kAlertmanager, sink.url());
  config.receivers[0].basic_user = "pgdr";
  config.receivers[0].basic_password = "p:w";  // a colon in the password is the password's
  Notifier n(config);
  n.Start();
  n.Update({Firing("A")}, kT0);
  ASSERT_TRUE(n.Drain(seconds(10)));
  ASSERT_EQ(sink.requests().size(), 1u);
  // base64("pgdr:p:w"), RFC 7617.
  EXPECT_EQ(Headers(sink.requests()[0], "Authorization"),
            std::vector<std::string>{"Basic cGdkcjpwOnc="});
}

TEST(Notifier, WebhookWithoutSendResolved) {
  TestHttpSink sink;
  auto config = OneReceiver(ReceiverConfig::Kind::kWebhook, sink.url());
  config.receivers[0].send_resolved = false;
  Notifier n(config);
  n.Start();
  auto a = Firing("A");
  n.Update({a}, kT0);
  a.state = ActionAlert::State::kResolved;
  a.resolved_at = kT0 + seconds(5);
  n.Update({a}, kT0 + seconds(5));
  ASSERT_TRUE(n.Drain(seconds(10)));
  EXPECT_EQ(sink.requests().size(), 1u);
}

TEST(Notifier, OnDemandWithBearerToken) {
  TestHttpSink sink;
  auto config = OneReceiver(ReceiverConfig::Kind::kWebhook, sink.url());
  config.receivers[0].on_demand = true;
  config.receivers[0].bearer_token = "s3cret";
  Notifier n(config);
  n.Start();
  ASSERT_TRUE(n.Enqueue("r", "{}").ok());
  EXPECT_EQ(n.Enqueue("nope", "{}").code(), core::Status::Code::kNotFound);
  ASSERT_TRUE(n.Drain(seconds(10)));
  ASSERT_EQ(sink.requests().size(), 1u);
  EXPECT_EQ(Headers(sink.requests()[0], "Authorization"),
            std::vector<std::string>{"Bearer s3cret"});
  n.Update({Firing("A")}, kT0);  // on-demand receivers ignore Update
  ASSERT_TRUE(n.Drain(seconds(10)));
  EXPECT_EQ(sink.requests().size(), 1u);
}

}  // namespace
}  // namespace pgdr::actions

// ActionEngine: config validation, and decisions on synthetic snapshots
// (dry run by default, exec provider, maintenance, refusals counted once).
#include "pgdr/actions/engine.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>

#include "test_http_sink.h"

namespace pgdr::actions {
namespace {

using std::chrono::seconds;

std::string WriteTemp(const std::string& text) {
  char path[] = "/tmp/pgdr-actions-test-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

const char* kTargets = R"(
targets:
  - {cluster: prod, member: p1, dsn: "host=127.0.0.1 port=5001 user=postgres"}
  - {cluster: prod, member: p2, dsn: "host=127.0.0.1 port=5002 user=postgres"}
  - {cluster: prod, member: p3, dsn: "host=127.0.0.1 port=5003 user=postgres"}
pgbouncers:
  - {name: pb, cluster: prod, dsn: "host=127.0.0.1 port=1 dbname=pgbouncer user=postgres"}
)";

// A config file and the sections the actions module parses.
struct Loaded {
  config::Config config;
  config::OwnedSections sections;
};

core::Result<Loaded> Load(const std::string& extra) {
  Loaded out;
  auto c = config::LoadConfig(WriteTemp(std::string(kTargets) + extra), &out.sections);
  if (!c.ok()) return c.status();
  out.config = std::move(*c);
  return out;
}

core::Status EngineError(const std::string& extra) {
  auto c = Load(extra);
  if (!c.ok()) return c.status();
  auto e = ActionEngine::Create(c->config, c->sections);
  return e.ok() ? core::Status::OK() : e.status();
}

TEST(ActionsConfig, FullExampleLoads) {
  setenv("PGDR_TEST_AM_PASSWORD", "pw", 1);
  auto c = Load(R"(
alerting:
  resend_delay: 30s
  queue_capacity: 50
  external_url: http://pgdr:9688
  alertmanagers:
    - url: http://127.0.0.1:9093
      basic_auth: {username: pgdr, password_env: PGDR_TEST_AM_PASSWORD}
      timeout: 5s
  webhooks:
    - name: ops
      url: https://hooks.example/pgdr
      match: 'severity="critical"'
      group_by: [alertname]
      tls_ca_file: /etc/ssl/certs/ca-certificates.crt
actions:
  dry_run: false
  triggers:
    - name: promote
      match: 'alertname="PostgresPrimaryMissing", cluster="prod"'
      action: failover
      confirm_for: 5s
      max_lag_bytes: 1048576
      cooldown: 5m
      redirect: [pb]
    - match: {alertname: PostgresFailoverOccurred}
      action: redirect
    - match: ['alertname="X"']
      action: exec
      command: [/bin/true]
      dry_run: true
    - match: 'alertname="Y"'
      action: webhook
      url: http://127.0.0.1:8080/
maintenance:
  windows:
    - {cluster: prod, cron: "0 2 * * SUN", duration: 2h, reason: weekly}
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto a = LoadActionsConfig(c->config, c->sections);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_EQ(a->triggers.size(), 4u);
  EXPECT_FALSE(a->triggers[0].dry_run);
  EXPECT_TRUE(a->triggers[2].dry_run);
  EXPECT_EQ(a->triggers[0].policy.confirm_for, seconds(5));
  EXPECT_EQ(a->triggers[1].name, "redirect#2");
  EXPECT_EQ(a->notifier.receivers.size(), 3u);  // alertmanager, ops, the webhook action
  EXPECT_EQ(a->notifier.receivers[0].basic_password, "pw");
  EXPECT_EQ(a->notifier.resend_delay, seconds(30));
  EXPECT_EQ(a->windows.size(), 1u);
  EXPECT_EQ(a->addresses.at("prod/p2"), "127.0.0.1:5002");
}

TEST(ActionsConfig, ErrorsNameFileLineColumn) {
  core::Status st =
      EngineError("actions:\n  triggers:\n    - {match: 'a=\"b\"', action: reboot}\n");
  EXPECT_NE(st.message().find(":10:32:"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("unknown action \"reboot\""), std::string::npos);
  st = EngineError("actions:\n  dryrun: false\n");
  EXPECT_NE(st.message().find("unknown key \"dryrun\""), std::string::npos) << st.message();
  st = EngineError("actions:\n  triggers:\n    - {match: 'a=b', action: failover}\n");
  EXPECT_NE(st.message().find("quoted value"), std::string::npos) << st.message();
  st = EngineError(
      "actions:\n  triggers:\n    - {match: 'a=\"b\"', action: failover, redirect: [nope]}\n");
  EXPECT_NE(st.message().find("unknown pooler \"nope\""), std::string::npos) << st.message();
  st = EngineError(
      "actions:\n  triggers:\n    - {match: 'a=\"b\"', action: exec, confirm_for: 1s, "
      "command: [x]}\n");
  EXPECT_NE(st.message().find("does not apply"), std::string::npos) << st.message();
  st = EngineError(
      "maintenance:\n  windows:\n    - {cluster: prod, cron: '0 2 * *', duration: 1h}\n");
  EXPECT_NE(st.message().find("expected 5 fields"), std::string::npos) << st.message();
  st = EngineError("alerting:\n  alertmanagers:\n    - {url: 127.0.0.1:9093}\n");
  EXPECT_NE(st.message().find("http://"), std::string::npos) << st.message();
  st = EngineError(
      "actions:\n  triggers:\n    - {match: 'a=\"b\"', action: failover, provider: cnpg}\n");
  EXPECT_NE(st.message().find("namespace"), std::string::npos) << st.message();
  st = EngineError(
      "actions:\n  triggers:\n    - {match: 'a=\"b\"', action: failover, provider: stonith}\n");
  EXPECT_NE(st.message().find(":10:52: unknown provider \"stonith\" (allowed: pg_promote, exec, "
                              "patroni, cnpg)"),
            std::string::npos)
      << st.message();
  st = EngineError(
      "actions:\n  triggers:\n    - {match: 'a=\"b\"', action: failover, provider: patroni, "
      "command: [x], url: 'http://127.0.0.1:1'}\n");
  EXPECT_NE(st.message().find("key \"command\" does not apply"), std::string::npos) << st.message();
  EXPECT_TRUE(EngineError("").ok());
}

// A snapshot of cluster prod: p1 primary (or down), p2/p3 replicas.
std::shared_ptr<const collect::Snapshot> Snap(TimePoint at, bool primary_up, bool replicas_stream,
                                              bool second_primary = false) {
  auto s = std::make_shared<collect::Snapshot>();
  s->composed_at = at;
  const std::string members[] = {"p1", "p2", "p3"};
  for (int i = 1; i <= 3; ++i) {
    auto t = std::make_shared<collect::TargetResult>();
    t->cluster = "prod";
    t->member = members[i - 1];
    if (i == 1) {
      t->facts.up = primary_up;
      if (primary_up) {
        t->facts.in_recovery = false;
        t->facts.lsn_bytes = 1000;
      }
    } else {
      t->facts.up = true;
      t->facts.in_recovery = !(second_primary && i == 2);
      t->facts.lsn_bytes = 1000 - i;
      t->facts.receive_lsn_bytes = 1000 - i;
      t->facts.wal_receiver_streaming = replicas_stream;
      if (replicas_stream) t->facts.wal_receiver_sender = "127.0.0.1:5001";
    }
    s->targets.push_back(t);
  }
  // As the composer reports it: p1's position, remembered once p1 is down.
  s->primaries["prod"] = {"p1", 1000, at, primary_up, ""};
  return s;
}

ActionAlert PrimaryMissing(TimePoint fired) {
  ActionAlert a;
  a.labels = {{"alertname", "PostgresPrimaryMissing"}, {"cluster", "prod"}};
  a.state = ActionAlert::State::kFiring;
  a.fired_at = fired;
  return a;
}

double Count(const ActionEngine& e, const std::string& result) {
  core::MetricSet m;
  e.CollectMetrics(m);
  const auto it = m.families().find("pgdr_failover_requests_total");
  if (it == m.families().end()) return -1;
  for (const auto& s : it->second.metric) {
    for (const auto& l : s.label) {
      if (l.name == "result" && l.value == result) return s.counter.value;
    }
  }
  return -1;
}

const TimePoint kT0 = Clock::from_time_t(1'800'000'000);

// Drives the engine: healthy at kT0, then `after` snapshots each second.
void Drive(ActionEngine& e, int from, int to, bool primary_up, bool stream,
           bool second_primary = false) {
  for (int s = from; s <= to; ++s) {
    const TimePoint at = kT0 + seconds(s);
    e.OnAlerts({PrimaryMissing(kT0)}, Snap(at, primary_up, stream, second_primary), at);
  }
}

std::unique_ptr<ActionEngine> Engine(const std::string& trigger_extra) {
  auto c = Load(
      "actions:\n  triggers:\n    - match: 'alertname=\"PostgresPrimaryMissing\"'\n"
      "      action: failover\n      confirm_for: 3s\n" +
      trigger_extra);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  auto e = ActionEngine::Create(c->config, c->sections);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  (*e)->Start();
  (*e)->OnAlerts({}, Snap(kT0, true, true), kT0);
  return std::move(*e);
}

TEST(ActionEngine, DryRunIsTheDefaultAndCountedOnce) {
  auto e = Engine("");
  Drive(*e, 1, 10, false, false);
  EXPECT_EQ(Count(*e, "dry_run"), 1);
  EXPECT_EQ(Count(*e, "success"), 0);
  EXPECT_EQ(Count(*e, "refused"), 0);  // waiting for confirmation is not a refusal
}

TEST(ActionEngine, HistoryKeepsTheDecisionWithItsEvidence) {
  auto e = Engine("");
  Drive(*e, 1, 10, false, false);
  const auto recent = e->history().Recent(kT0 + seconds(10));
  ASSERT_EQ(recent.size(), 2u);  // newest first: the dry run, then the wait for confirmation
  EXPECT_EQ(recent[0].result, "dry_run");
  EXPECT_EQ(recent[0].action, "failover");
  EXPECT_EQ(recent[0].cluster, "prod");
  EXPECT_EQ(recent[0].alertname, "PostgresPrimaryMissing");
  EXPECT_EQ(recent[0].summary, "would promote p2, 2 B behind");  // p2 replayed 998 of 1000
  EXPECT_EQ(recent[0].evidence.at("candidate"), "p2");
  EXPECT_EQ(recent[0].evidence.at("lag_bytes"), "2");
  EXPECT_EQ(recent[0].evidence.at("old_primary"), "p1");
  EXPECT_EQ(recent[1].result, "waiting");
  EXPECT_EQ(recent[1].reason, "not_confirmed");
  const auto json = DecisionsJson(recent);
  EXPECT_EQ(json["data"]["decisions"][0]["summary"], "would promote p2, 2 B behind");
  EXPECT_EQ(json["data"]["decisions"][0]["time"], FormatRfc3339(recent[0].at));
  // A reload keeps the history; a day later it is gone.
  auto second = Engine("");
  e->Stop();
  second->AdoptState(*e);
  EXPECT_EQ(second->history().Recent(kT0 + seconds(10)).size(), 2u);
  EXPECT_TRUE(second->history().Recent(kT0 + std::chrono::hours(25)).empty());
}

TEST(ActionEngine, PartitionRefusedOnceWhileFiring) {
  auto e = Engine("");
  Drive(*e, 1, 20, false, true);
  EXPECT_EQ(Count(*e, "refused"), 1);
  EXPECT_EQ(Count(*e, "dry_run"), 0);
  const auto recent = e->history().Recent(kT0 + seconds(20));
  ASSERT_FALSE(recent.empty());
  EXPECT_EQ(recent[0].result, "refused");
  EXPECT_EQ(recent[0].reason, "replica_streaming");
  EXPECT_TRUE(recent[0].summary.starts_with("refused: ")) << recent[0].summary;
}

TEST(ActionEngine, SplitBrainRefused) {
  auto e = Engine("");
  Drive(*e, 1, 10, true, false, true);
  EXPECT_EQ(Count(*e, "refused"), 1);
}

TEST(ActionEngine, MaintenanceRefusesThenAllows) {
  auto e = Engine("      dry_run: true\n");
  ASSERT_TRUE(e->maintenance().Open("prod", std::chrono::hours(1), "test", kT0).ok());
  Drive(*e, 1, 10, false, false);
  EXPECT_EQ(Count(*e, "refused"), 1);
  EXPECT_EQ(Count(*e, "dry_run"), 0);
  ASSERT_TRUE(e->maintenance().Close("prod").ok());
  Drive(*e, 11, 12, false, false);
  EXPECT_EQ(Count(*e, "dry_run"), 1);
  core::MetricSet m;
  e->CollectMetrics(m);
  EXPECT_EQ(m.families().at("pgdr_maintenance_active").metric.size(), 1u);
}

TEST(ActionEngine, ExecProviderActsOnceWithTheDecision) {
  char path[] = "/tmp/pgdr-engine-exec-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  auto e = Engine(std::string("      dry_run: false\n      provider: exec\n      command: "
                              "[/bin/sh, -c, 'echo \"$PGDR_CANDIDATE $PGDR_OLD_PRIMARY\" >> ") +
                  path + "']\n");
  Drive(*e, 1, 10, false, false);
  ASSERT_TRUE(e->WaitIdle(std::chrono::seconds(10)));
  EXPECT_EQ(Count(*e, "success"), 1);
  EXPECT_EQ(Count(*e, "dry_run"), 0);
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  EXPECT_EQ(text.str(), "p2 p1\n");
  unlink(path);
}

// The patroni provider's exchange, against a scripted loopback server
// standing in for Patroni's REST API (the real one: test_patroni_failover.py).
constexpr char kPatroniNoLeader[] =
    R"({"members": [{"name": "p1", "role": "leader", "state": "stopped"},)"
    R"( {"name": "p2", "role": "replica", "state": "running"}]})";
constexpr char kPatroniLeaderP1[] =
    R"({"members": [{"name": "p1", "role": "leader", "state": "running"},)"
    R"( {"name": "p2", "role": "replica", "state": "running"}]})";
constexpr char kPatroniLeaderP2[] =
    R"({"members": [{"name": "p1", "role": "replica", "state": "running"},)"
    R"( {"name": "p2", "role": "leader", "state": "running"}]})";

std::string RequestLine(const std::string& req) { return req.substr(0, req.find("\r\n")); }
std::string RequestBody(const std::string& req) { return req.substr(req.find("\r\n\r\n") + 4); }

TEST(ActionEngine, PatroniProviderRefusalCarriesPatronisText) {
  TestHttpSink patroni({200, 412},
                       {kPatroniNoLeader, "failover is not possible: no good candidates"});
  auto e =
      Engine("      dry_run: false\n      provider: patroni\n      url: " + patroni.url() + "\n");
  Drive(*e, 1, 10, false, false);
  ASSERT_TRUE(e->WaitIdle(std::chrono::seconds(10)));
  EXPECT_EQ(Count(*e, "failed"), 1);
  const auto reqs = patroni.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(RequestLine(reqs[0]), "GET /cluster HTTP/1.1");
  // No running leader: a failover to the candidate, without `leader`.
  EXPECT_EQ(RequestLine(reqs[1]), "POST /failover HTTP/1.1");
  EXPECT_EQ(RequestBody(reqs[1]), R"({"candidate":"p2"})");
  // The provider's result is recorded at the wall clock time it returned.
  const auto recent = e->history().Recent(Clock::now());
  const auto failed = std::find_if(recent.begin(), recent.end(),
                                   [](const Decision& d) { return d.result == "failed"; });
  ASSERT_NE(failed, recent.end());
  EXPECT_NE(failed->summary.find("HTTP 412: failover is not possible: no good candidates"),
            std::string::npos)
      << failed->summary;
}

TEST(ActionEngine, PatroniProviderSwitchesOverFromARunningLeaderAndVerifies) {
  TestHttpSink patroni({200, 200, 200, 200},
                       {kPatroniLeaderP1, "Successfully switched over to \"p2\"", kPatroniLeaderP1,
                        kPatroniLeaderP2});
  auto e =
      Engine("      dry_run: false\n      provider: patroni\n      url: " + patroni.url() + "\n");
  Drive(*e, 1, 10, false, false);
  ASSERT_TRUE(e->WaitIdle(std::chrono::seconds(10)));
  EXPECT_EQ(Count(*e, "success"), 1);
  const auto reqs = patroni.requests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(RequestLine(reqs[1]), "POST /switchover HTTP/1.1");
  EXPECT_EQ(nlohmann::json::parse(RequestBody(reqs[1])),
            nlohmann::json({{"leader", "p1"}, {"candidate", "p2"}}));
  // Verified: /cluster polled until p2 was the running leader.
  EXPECT_EQ(RequestLine(reqs[2]), "GET /cluster HTTP/1.1");
  EXPECT_EQ(RequestLine(reqs[3]), "GET /cluster HTTP/1.1");
}

TEST(ActionEngine, FailedProviderIsCountedAndRetriedAfterCooldown) {
  TestHttpSink patroni({503, 503, 503, 503});
  auto e = Engine(
      "      dry_run: false\n      provider: patroni\n      cooldown: 5s\n"
      "      max_retries: 0\n      url: " +
      patroni.url() + "\n");
  Drive(*e, 1, 6, false, false);
  ASSERT_TRUE(e->WaitIdle(std::chrono::seconds(10)));
  EXPECT_EQ(Count(*e, "failed"), 1);
  Drive(*e, 7, 8, false, false);
  EXPECT_EQ(Count(*e, "refused"), 1);  // cooldown
  Drive(*e, 9, 12, false, false);      // promoted again at 9; the next cooldown ends at 14
  ASSERT_TRUE(e->WaitIdle(std::chrono::seconds(10)));
  EXPECT_EQ(Count(*e, "failed"), 2);
}

TEST(ActionEngine, WebhookAndExecActionsOncePerEpisode) {
  TestHttpSink hook;
  char path[] = "/tmp/pgdr-engine-exec-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  auto c = Load(std::string("actions:\n  dry_run: false\n  triggers:\n") +
                "    - {match: 'alertname=\"PostgresPrimaryMissing\"', action: webhook, url: '" +
                hook.url("/act") + "'}\n" +
                "    - {match: 'alertname=\"PostgresPrimaryMissing\"', action: exec, command: "
                "['/bin/sh', '-c', 'echo \"$PGDR_ALERTNAME\" >> " +
                path + "']}\n" +
                "    - {match: 'alertname=\"PostgresPrimaryMissing\"', action: redirect}\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto e = ActionEngine::Create(c->config, c->sections);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  (*e)->Start();
  Drive(**e, 0, 5, false, false);
  ASSERT_TRUE((*e)->WaitIdle(std::chrono::seconds(10)));
  ASSERT_TRUE(hook.WaitFor(1));
  const auto body =
      nlohmann::json::parse(hook.requests()[0].substr(hook.requests()[0].find("\r\n\r\n") + 4));
  EXPECT_EQ(body["version"], "4");
  EXPECT_EQ(body["alerts"][0]["labels"]["alertname"], "PostgresPrimaryMissing");
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  EXPECT_EQ(text.str(), "PostgresPrimaryMissing\n");
  unlink(path);
  core::MetricSet m;
  (*e)->CollectMetrics(m);
  std::map<std::string, double> results;
  for (const auto& s : m.families().at("pgdr_actions_total").metric) {
    std::string action, result;
    for (const auto& l : s.label) {
      if (l.name == "action") action = l.value;
      if (l.name == "result") result = l.value;
    }
    results[action + "/" + result] += s.counter.value;
  }
  EXPECT_EQ(results["webhook/success"], 1);
  EXPECT_EQ(results["exec/success"], 1);
  EXPECT_EQ(results["redirect/refused"], 1);  // no primary to redirect to
}

TEST(ActionEngine, ReloadKeepsCooldownCountersAndManualWindows) {
  auto first = Engine("      dry_run: false\n      provider: exec\n      command: [/bin/true]\n");
  Drive(*first, 1, 10, false, false);
  ASSERT_TRUE(first->WaitIdle(std::chrono::seconds(10)));
  ASSERT_TRUE(first->maintenance().Open("prod", std::chrono::hours(1), "x", kT0).ok());
  first->Stop();
  auto second = Engine("      dry_run: false\n      provider: exec\n      command: [/bin/true]\n");
  second->AdoptState(*first);
  EXPECT_EQ(Count(*second, "success"), 1);
  EXPECT_TRUE(second->maintenance().Active("prod", kT0 + seconds(60)));
  ASSERT_TRUE(second->maintenance().Close("prod").ok());
  Drive(*second, 11, 20, false, false);
  EXPECT_EQ(Count(*second, "refused"), 1);  // cooldown carried over
  EXPECT_EQ(Count(*second, "success"), 1);
}

// A failover still queued when the engine stops never ran: it must not leave
// a cooldown behind for the engine that replaces it on a reload.
TEST(ActionEngine, FailoverDroppedAtStopLeavesNoCooldown) {
  const std::string trigger =
      "      dry_run: false\n      provider: exec\n      command: [/bin/true]\n";
  auto c = Load(
      "actions:\n  triggers:\n    - match: 'alertname=\"PostgresPrimaryMissing\"'\n"
      "      action: failover\n      confirm_for: 3s\n" +
      trigger);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto first = ActionEngine::Create(c->config, c->sections);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  // Not started: the failover decided below stays queued until Stop() drops it.
  (*first)->OnAlerts({}, Snap(kT0, true, true), kT0);
  Drive(**first, 1, 10, false, false);
  (*first)->Stop();
  EXPECT_EQ(Count(**first, "success"), 0);
  auto second = Engine(trigger);
  second->AdoptState(**first);
  Drive(*second, 11, 20, false, false);
  ASSERT_TRUE(second->WaitIdle(std::chrono::seconds(10)));
  EXPECT_EQ(Count(*second, "refused"), 0);
  EXPECT_EQ(Count(*second, "success"), 1);
}

TEST(ActionEngine, MaintenanceHttpHandler) {
  auto e = Engine("");
  http::HttpRequest post{"POST", "/api/v1/maintenance", "",
                         R"({"action":"open","cluster":"prod"})"};
  EXPECT_EQ(e->HandleMaintenance(post).status, 200);
  EXPECT_EQ(e->HandleMaintenance({"GET", "/api/v1/maintenance", "", ""}).status, 200);
  EXPECT_EQ(e->HandleMaintenance({"DELETE", "/api/v1/maintenance", "", ""}).status, 405);
}

}  // namespace
}  // namespace pgdr::actions

namespace pgdr::actions {
namespace {

// A gate the test opens and closes (leader/leader_election.h).
class TestGate : public leader::ActingGate {
 public:
  bool MayAct(std::string* why) const override {
    if (!open && why) *why = "the lease is held by other";
    return open;
  }
  std::atomic<bool> open{false};
};

double NotLeader(const ActionEngine& e) {
  core::MetricSet m;
  e.CollectMetrics(m);
  const auto it = m.families().find("pgdr_actions_not_leader_total");
  return it == m.families().end() ? -1 : it->second.metric.at(0).counter.value;
}

TEST(ActionEngine, OnlyTheLeaseHolderActs) {
  char path[] = "/tmp/pgdr-engine-gate-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  auto e = Engine(std::string("      dry_run: false\n      provider: exec\n      command: "
                              "[/bin/sh, -c, 'echo \"$PGDR_CANDIDATE\" >> ") +
                  path + "']\n");
  EXPECT_EQ(NotLeader(*e), -1);  // no gate: the series is not exported
  auto gate = std::make_shared<TestGate>();
  e->SetActingGate(gate);
  EXPECT_EQ(NotLeader(*e), 0);
  Drive(*e, 1, 10, false, false);
  ASSERT_TRUE(e->WaitIdle(std::chrono::seconds(10)));
  EXPECT_EQ(Count(*e, "success"), 0);
  EXPECT_EQ(NotLeader(*e), 1);  // withheld once, not once per evaluation
  auto recent = e->history().Recent(kT0 + seconds(10));
  ASSERT_FALSE(recent.empty());
  EXPECT_EQ(recent[0].result, "not_leader");
  EXPECT_EQ(recent[0].summary, "not promoting p2: the lease is held by other");
  // Taking the lease over while the alert still fires: acts once.
  gate->open = true;
  Drive(*e, 11, 20, false, false);
  ASSERT_TRUE(e->WaitIdle(std::chrono::seconds(10)));
  EXPECT_EQ(Count(*e, "success"), 1);
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  EXPECT_EQ(text.str(), "p2\n");
  unlink(path);
}

}  // namespace
}  // namespace pgdr::actions

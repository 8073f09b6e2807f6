// The Kubernetes Lease backend against a scripted loopback HTTP server: the
// requests it sends (paths, verbs, the Lease it writes) and how it reads the
// answers (takeover only after leaseDurationSeconds on its own clock, 409 on
// renewal means lost).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "actions/test_http_sink.h"
#include "pgdr/leader/leader_election.h"

namespace pgdr::leader {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const char kPath[] = "/apis/coordination.k8s.io/v1/namespaces/pgdr/leases/pgdr-leader";

std::string TokenFile() {
  char path[] = "/tmp/pgdr-lease-token-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "t0ken\n";
  return path;
}

std::unique_ptr<LeaseBackend> Backend(const actions::TestHttpSink& api) {
  config::KubernetesLeaseConfig c;
  c.namespace_name = "pgdr";
  c.name = "pgdr-leader";
  c.api_url = api.url();
  c.bearer_token_file = TokenFile();
  c.tls_ca_file = "/dev/null";
  c.ttl = 6s;
  c.timeout = 2s;
  return MakeKubernetesBackend(c, "me");
}

std::string Line(const std::string& request) { return request.substr(0, request.find('\r')); }

json Body(const std::string& request) {
  return json::parse(request.substr(request.find("\r\n\r\n") + 4));
}

std::string Lease(const std::string& holder, int duration, const std::string& rv, int transitions) {
  return json{
      {"apiVersion", "coordination.k8s.io/v1"},
      {"kind", "Lease"},
      {"metadata", {{"name", "pgdr-leader"}, {"namespace", "pgdr"}, {"resourceVersion", rv}}},
      {"spec",
       {{"holderIdentity", holder},
        {"leaseDurationSeconds", duration},
        {"acquireTime", "2026-12-01T10:00:00.000000Z"},
        {"renewTime", "2026-12-01T10:00:05.000000Z"},
        {"leaseTransitions", transitions}}}}
      .dump();
}

const std::regex kMicroTime(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)");

TEST(KubernetesLeaseTest, CreatesAnAbsentLeaseThenRenewsAndReleases) {
  actions::TestHttpSink api({404, 201, 200, 200},
                            {R"({"kind":"Status","code":404})", Lease("me", 6, "11", 0),
                             Lease("me", 6, "12", 0), Lease("", 1, "13", 0)});
  auto b = Backend(api);
  EXPECT_EQ(b->backend(), "kubernetes");
  EXPECT_EQ(b->lock(), "pgdr/pgdr-leader");
  auto a = b->TryAcquire();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(a->acquired);
  EXPECT_EQ(a->ttl, 6000ms);
  auto ttl = b->Renew();
  ASSERT_TRUE(ttl.ok()) << ttl.status().ToString();
  EXPECT_EQ(*ttl, 6000ms);
  b->Release();
  const auto r = api.requests();
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(Line(r[0]), std::string("GET ") + kPath + " HTTP/1.1");
  EXPECT_NE(r[0].find("Authorization: Bearer t0ken\r\n"), std::string::npos);
  EXPECT_EQ(Line(r[1]), "POST /apis/coordination.k8s.io/v1/namespaces/pgdr/leases HTTP/1.1");
  const json created = Body(r[1]);
  EXPECT_EQ(created["kind"], "Lease");
  EXPECT_EQ(created["metadata"]["name"], "pgdr-leader");
  EXPECT_EQ(created["spec"]["holderIdentity"], "me");
  EXPECT_EQ(created["spec"]["leaseDurationSeconds"], 6);
  EXPECT_EQ(created["spec"]["leaseTransitions"], 0);
  EXPECT_TRUE(std::regex_match(created["spec"]["renewTime"].get<std::string>(), kMicroTime));
  EXPECT_EQ(created["spec"]["acquireTime"], created["spec"]["renewTime"]);
  // The renewal carries the resourceVersion of the created Lease, the release that of the renewal.
  EXPECT_EQ(Line(r[2]), std::string("PUT ") + kPath + " HTTP/1.1");
  const json renewed = Body(r[2]);
  EXPECT_EQ(renewed["metadata"]["resourceVersion"], "11");
  EXPECT_EQ(renewed["spec"]["holderIdentity"], "me");
  EXPECT_TRUE(std::regex_match(renewed["spec"]["renewTime"].get<std::string>(), kMicroTime));
  EXPECT_NE(renewed["spec"]["renewTime"], "2026-12-01T10:00:05.000000Z");
  const json released = Body(r[3]);
  EXPECT_EQ(released["metadata"]["resourceVersion"], "12");
  EXPECT_EQ(released["spec"]["holderIdentity"], "");
  EXPECT_EQ(released["spec"]["leaseDurationSeconds"], 1);
}

TEST(KubernetesLeaseTest, TakesOverOnlyAfterTheDurationOnItsOwnClock) {
  // The holder's renewTime is days old by the wall clock, yet the lease is
  // only taken over once leaseDurationSeconds passed since it was first seen.
  actions::TestHttpSink api({200, 200, 200}, {Lease("other", 1, "20", 4),
                                              Lease("other", 1, "20", 4), Lease("me", 6, "21", 5)});
  auto b = Backend(api);
  auto first = b->TryAcquire();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->acquired);
  EXPECT_EQ(first->holder, "other");
  std::this_thread::sleep_for(1100ms);
  auto second = b->TryAcquire();
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(second->acquired);
  const auto r = api.requests();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(Line(r[2]), std::string("PUT ") + kPath + " HTTP/1.1");
  const json took = Body(r[2]);
  EXPECT_EQ(took["metadata"]["resourceVersion"], "20");
  EXPECT_EQ(took["spec"]["holderIdentity"], "me");
  EXPECT_EQ(took["spec"]["leaseDurationSeconds"], 6);
  EXPECT_EQ(took["spec"]["leaseTransitions"], 5);
  EXPECT_NE(took["spec"]["acquireTime"], "2026-12-01T10:00:00.000000Z");
}

TEST(KubernetesLeaseTest, ARenewedRecordRestartsTheWait) {
  // A new resourceVersion means the holder renewed: the wait starts again.
  actions::TestHttpSink api({200, 200}, {Lease("other", 1, "30", 0), Lease("other", 1, "31", 0)});
  auto b = Backend(api);
  ASSERT_TRUE(b->TryAcquire().ok());
  std::this_thread::sleep_for(1100ms);
  auto again = b->TryAcquire();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->acquired);
  EXPECT_EQ(again->holder, "other");
  EXPECT_EQ(api.requests().size(), 2u);  // no PUT
}

TEST(KubernetesLeaseTest, ConflictOnRenewalIsALostLeaseAndALostRaceIsNotAnError) {
  actions::TestHttpSink api({404, 201, 409, 200, 409},
                            {"{}", Lease("me", 6, "40", 0), R"({"kind":"Status","code":409})",
                             Lease("", 1, "41", 0), R"({"kind":"Status","code":409})"});
  auto b = Backend(api);
  ASSERT_TRUE(b->TryAcquire().ok());
  auto renewed = b->Renew();
  ASSERT_FALSE(renewed.ok());
  EXPECT_EQ(renewed.status().code(), core::Status::Code::kNotFound);
  EXPECT_NE(renewed.status().message().find("409"), std::string::npos);
  b->Release();  // nothing held any more: no request
  // Released by its holder: taken at once, but another replica won the PUT.
  auto raced = b->TryAcquire();
  ASSERT_TRUE(raced.ok()) << raced.status().ToString();
  EXPECT_FALSE(raced->acquired);
  EXPECT_EQ(api.requests().size(), 5u);
}

TEST(KubernetesLeaseTest, ForbiddenIsAnErrorWithTheApiServersMessage) {
  actions::TestHttpSink api(
      {403},
      {R"({"kind":"Status","code":403,"message":"leases.coordination.k8s.io is forbidden"})"});
  auto b = Backend(api);
  auto a = b->TryAcquire();
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("HTTP 403: leases.coordination.k8s.io is forbidden"),
            std::string::npos)
      << a.status().message();
  EXPECT_EQ(a.status().message().find("t0ken"), std::string::npos);
}

}  // namespace
}  // namespace pgdr::leader

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "pgdr/config/config.h"

namespace pgdr::config {
namespace {

std::string WriteTemp(const std::string& text) {
  char path[] = "/tmp/pgdr-leader-config-test-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

const char kTargets[] = R"(targets:
  - {cluster: c, member: m, dsn: host=127.0.0.1}
)";

TEST(LeaderElectionConfigTest, AbsentMeansNoElection) {
  auto c = LoadConfig(WriteTemp(kTargets));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->leader_election.has_value());
}

TEST(LeaderElectionConfigTest, EtcdWithDefaults) {
  auto c = LoadConfig(WriteTemp(std::string(kTargets) + R"(leader_election:
  identity: pgdr-0
  etcd:
    endpoints: [http://127.0.0.1:2379/, https://10.0.0.2:2379]
)"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->leader_election.has_value());
  const auto& le = *c->leader_election;
  EXPECT_EQ(le.identity, "pgdr-0");
  EXPECT_EQ(le.etcd.endpoints,
            (std::vector<std::string>{"http://127.0.0.1:2379", "https://10.0.0.2:2379"}));
  EXPECT_EQ(le.etcd.key, "/pgdr/leader");
  EXPECT_EQ(le.etcd.ttl.count(), 15000);
  EXPECT_EQ(le.etcd.renew_interval.count(), 5000);  // ttl / 3
  EXPECT_EQ(le.etcd.retry_interval.count(), 2000);
  EXPECT_EQ(le.etcd.timeout.count(), 2000);
  EXPECT_EQ(le.etcd.fencing_margin.count(), 2000);
}

TEST(LeaderElectionConfigTest, KubernetesLease) {
  auto c = LoadConfig(WriteTemp(std::string(kTargets) + R"(leader_election:
  identity: pgdr-0
  kubernetes:
    namespace: pgdr
    name: pgdr-leader
    api_url: https://127.0.0.1:6443
    bearer_token_file: /tmp/token
    ttl: 9s
)"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const auto& le = *c->leader_election;
  EXPECT_EQ(le.store, LeaseStore::kKubernetes);
  EXPECT_EQ(le.kubernetes.namespace_name, "pgdr");
  EXPECT_EQ(le.kubernetes.name, "pgdr-leader");
  EXPECT_EQ(le.kubernetes.api_url, "https://127.0.0.1:6443");
  EXPECT_EQ(le.kubernetes.bearer_token_file, "/tmp/token");
  EXPECT_EQ(le.kubernetes.tls_ca_file, "");  // the pod's CA
  EXPECT_EQ(le.kubernetes.ttl.count(), 9000);
  EXPECT_EQ(le.kubernetes.renew_interval.count(), 3000);  // ttl / 3
  EXPECT_EQ(le.kubernetes.retry_interval.count(), 2000);
  EXPECT_EQ(le.kubernetes.timeout.count(), 2000);
  EXPECT_EQ(le.kubernetes.fencing_margin.count(), 2000);
}

TEST(LeaderElectionConfigTest, DefaultIdentityIsHostAndPid) {
  auto c = LoadConfig(WriteTemp(std::string(kTargets) +
                                "leader_election: {etcd: {endpoints: http://127.0.0.1:2379}}\n"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->leader_election->identity.ends_with("-" + std::to_string(getpid())))
      << c->leader_election->identity;
}

TEST(LeaderElectionConfigTest, ErrorsNameFileLineColumn) {
  struct Case {
    std::string yaml, error;
  };
  const std::vector<Case> cases = {
      {"leader_election: {etcd: {endpoints: [http://e:2379], tll: 5s}}\n",
       ":3:54: unknown key \"tll\" in leader_election.etcd"},
      {"leader_election: {identity: x}\n",
       ":3:18: leader_election needs a backend: etcd or kubernetes"},
      {"leader_election: {etcd: {endpoints: [http://e:2379]}, kubernetes: {namespace: a, name: "
       "b}}\n",
       ":3:67: leader_election: etcd or kubernetes, not both"},
      {"leader_election: {kubernetes: {name: pgdr}}\n",
       ":3:31: leader_election.kubernetes.namespace: a namespace name is required"},
      {"leader_election: {kubernetes: {namespace: pgdr, name: Pgdr_Leader}}\n",
       ":3:55: leader_election.kubernetes.name: a Lease name is required"},
      {"leader_election: {kubernetes: {namespace: pgdr, name: l, ttl: 7500ms}}\n",
       ":3:63: leader_election.kubernetes.ttl must be whole seconds"},
      {"leader_election: {kubernetes: {namespace: pgdr, name: l, ttl: 5s, timeout: 3s}}\n",
       ":3:31: leader_election.kubernetes: renew_interval (1s666ms) + timeout (3s)"},
      {"leader_election: {etcd: {endpoints: [e:2379]}}\n",
       ":3:37: an etcd endpoint starts with http:// or https://"},
      {"leader_election: {etcd: {endpoints: [http://e:2379], ttl: 1s}}\n",
       ":3:59: ttl must be at least 2s"},
      {"leader_election: {etcd: {endpoints: [http://e:2379], ttl: 5s, renew_interval: 3s}}\n",
       ":3:25: leader_election.etcd: renew_interval (3s) + timeout (2s) + fencing_margin (2s) "
       "must be less than ttl (5s)"},
  };
  for (const auto& tc : cases) {
    const std::string path = WriteTemp(std::string(kTargets) + tc.yaml);
    auto c = LoadConfig(path);
    ASSERT_FALSE(c.ok()) << tc.yaml;
    EXPECT_NE(c.status().message().find(path + tc.error), std::string::npos)
        << c.status().message();
  }
}

}  // namespace
}  // namespace pgdr::config

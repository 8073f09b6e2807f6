#include "pgdr/config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "pgdr/config/yaml_reader.h"

namespace pgdr::config {
namespace {

std::string WriteTemp(const std::string& text) {
  char path[] = "/tmp/pgdr-config-test-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigTest, LoadsTargetsWithDefaults) {
  const std::string path = WriteTemp(R"(
collection:
  interval: 5s
targets:
  - cluster: prod
    member: pg-1
    region: eu
    dsn: host=127.0.0.1 port=5432 user=pgdr
    password_env: PGPW
    labels: {team: db}
    memory: {local: true, cgroup_path: /sys/fs/cgroup/pg}
)");
  auto c = LoadConfig(path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->collection.interval.count(), 5000);
  EXPECT_EQ(c->collection.target_deadline.count(), 5000);  // capped at the interval
  EXPECT_EQ(c->collection.statement_timeout.count(), 5000);
  ASSERT_EQ(c->targets.size(), 1u);
  const TargetConfig& t = c->targets[0];
  EXPECT_EQ(t.Key(), "prod/pg-1");
  EXPECT_EQ(t.labels.at("team"), "db");
  EXPECT_TRUE(t.local_memory);
  EXPECT_EQ(*t.password_env, "PGPW");
  unlink(path.c_str());
}

TEST(ConfigTest, TargetControlSection) {
  const std::string path = WriteTemp(R"(
targets:
  - cluster: prod
    member: pg-1
    dsn: host=127.0.0.1 port=5432 user=pgdr
    control:
      data_dir: /var/lib/postgresql/15/main
      bin_dir: /usr/lib/postgresql/15/bin
      replication_conninfo: user=replicator passfile=/var/lib/postgresql/.pgpass
  - cluster: prod
    member: pg-2
    dsn: host=127.0.0.1 port=5433 user=pgdr
)");
  auto c = LoadConfig(path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->targets[0].control.data_dir, "/var/lib/postgresql/15/main");
  EXPECT_EQ(c->targets[0].control.bin_dir, "/usr/lib/postgresql/15/bin");
  EXPECT_EQ(c->targets[0].control.log_file, "");
  EXPECT_EQ(c->targets[0].control.replication_conninfo,
            "user=replicator passfile=/var/lib/postgresql/.pgpass");
  EXPECT_TRUE(c->targets[1].control.data_dir.empty());
  unlink(path.c_str());

  const std::string bad = WriteTemp(
      "targets:\n  - {cluster: a, member: b, dsn: host=x, control: {bin_dir: /usr/bin}}\n");
  auto e = LoadConfig(bad);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find(bad + ":2:"), std::string::npos) << e.status().message();
  EXPECT_NE(e.status().message().find("control needs data_dir"), std::string::npos);
  unlink(bad.c_str());
  const std::string typo =
      WriteTemp("targets:\n  - {cluster: a, member: b, dsn: host=x, control: {datadir: /d}}\n");
  auto f = LoadConfig(typo);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("datadir"), std::string::npos) << f.status().message();
  unlink(typo.c_str());
}

TEST(ConfigTest, ReservedLabelsAndDeadlineAboveIntervalAreErrors) {
  const std::string a =
      WriteTemp("targets:\n  - {cluster: c, member: m, dsn: 'host=x', labels: {instance: i}}\n");
  auto c = LoadConfig(a);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("label \"instance\" is reserved"), std::string::npos);
  const std::string b = WriteTemp("collection: {interval: 1s, target_deadline: 2s}\ntargets: []\n");
  auto d = LoadConfig(b);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find(b + ":1:45: target_deadline must not exceed interval"),
            std::string::npos)
      << d.status().message();
  unlink(a.c_str());
  unlink(b.c_str());
}

TEST(ConfigTest, DiscoveryPatroniEntries) {
  const std::string a = WriteTemp(
      "targets: []\ndiscovery:\n  patroni:\n    - cluster: main\n"
      "      urls: [http://10.0.0.1:8008/, https://10.0.0.2:8008]\n      interval: 2s\n");
  auto c = LoadConfig(a);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->patroni.size(), 1u);
  EXPECT_EQ(c->patroni[0].cluster, "main");
  EXPECT_EQ(c->patroni[0].urls,
            (std::vector<std::string>{"http://10.0.0.1:8008", "https://10.0.0.2:8008"}));
  EXPECT_EQ(c->patroni[0].interval, std::chrono::milliseconds(2000));
  EXPECT_EQ(c->patroni[0].timeout, std::chrono::milliseconds(2000));
  const std::string b =
      WriteTemp("targets: []\ndiscovery: {patroni: [{cluster: main, urls: [10.0.0.1:8008]}]}\n");
  auto d = LoadConfig(b);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("starts with http:// or https://"), std::string::npos)
      << d.status().message();
  unlink(a.c_str());
  unlink(b.c_str());
}

TEST(ConfigTest, DiscoveryCnpgEntries) {
  const std::string a = WriteTemp(
      "targets: []\ndiscovery:\n  cnpg:\n    - namespaces: [db, dr]\n"
      "      api_url: https://127.0.0.1:6443\n      host_template: '{pod}.example'\n"
      "      interval: 3s\n");
  auto c = LoadConfig(a);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->cnpg.size(), 1u);
  EXPECT_EQ(c->cnpg[0].namespaces, (std::vector<std::string>{"db", "dr"}));
  EXPECT_EQ(c->cnpg[0].api_url, "https://127.0.0.1:6443");
  EXPECT_EQ(c->cnpg[0].host_template, "{pod}.example");
  EXPECT_EQ(c->cnpg[0].port, 5432);
  EXPECT_EQ(c->cnpg[0].interval, std::chrono::milliseconds(3000));
  EXPECT_EQ(c->cnpg[0].timeout, std::chrono::milliseconds(5000));
  const std::string b =
      WriteTemp("targets: []\ndiscovery: {cnpg: [{namespaces: [db], host_template: x}]}\n");
  auto d = LoadConfig(b);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("host_template must contain {pod}"), std::string::npos)
      << d.status().message();
  const std::string e = WriteTemp("targets: []\ndiscovery: {cnpg: [{clusters: [a]}]}\n");
  EXPECT_FALSE(LoadConfig(e).ok());
  unlink(a.c_str());
  unlink(b.c_str());
  unlink(e.c_str());
}

TEST(ConfigTest, DiscoveryPatroniTargetsTemplate) {
  const std::string a = WriteTemp(
      "targets: []\ndiscovery:\n  patroni:\n    - cluster: main\n"
      "      urls: [http://10.0.0.1:8008]\n      targets:\n"
      "        dsn: user=pgdr dbname=postgres sslmode=require\n"
      "        password_env: PG_PW\n        labels: {team: db}\n");
  auto c = LoadConfig(a);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_TRUE(c->patroni[0].target_template);
  EXPECT_EQ(c->patroni[0].target_template->dsn, "user=pgdr dbname=postgres sslmode=require");
  EXPECT_EQ(c->patroni[0].target_template->password_env, "PG_PW");
  EXPECT_EQ(c->patroni[0].target_template->labels.at("team"), "db");
  for (const char* bad : {"host=10.0.0.9 user=pgdr", "port=5433", "postgresql://u@h/db"}) {
    const std::string b = WriteTemp(
        "targets: []\ndiscovery:\n  patroni:\n    - cluster: main\n"
        "      urls: [http://10.0.0.1:8008]\n      targets: {dsn: '" +
        std::string(bad) + "'}\n");
    auto d = LoadConfig(b);
    EXPECT_FALSE(d.ok()) << bad;
    if (!d.ok()) {
      EXPECT_NE(d.status().message().find("dsn"), std::string::npos);
    }
    unlink(b.c_str());
  }
  unlink(a.c_str());
}

TEST(ConfigTest, DiscoveryCnpgTargetsTemplate) {
  const std::string a = WriteTemp(
      "targets: []\ndiscovery:\n  cnpg:\n    - namespaces: [db]\n      targets:\n"
      "        dsn: user=pgdr dbname=postgres sslmode=require\n"
      "        password_file: /etc/pgdr/pw\n        region: eu\n");
  auto c = LoadConfig(a);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_TRUE(c->cnpg[0].target_template);
  EXPECT_EQ(c->cnpg[0].target_template->dsn, "user=pgdr dbname=postgres sslmode=require");
  EXPECT_EQ(c->cnpg[0].target_template->password_file, "/etc/pgdr/pw");
  EXPECT_EQ(c->cnpg[0].target_template->region, "eu");
  EXPECT_EQ(c->cnpg[0].target_template->cluster, "");  // each Cluster's own name
  const std::string b = WriteTemp(
      "targets: []\ndiscovery:\n  cnpg:\n    - namespaces: [db]\n"
      "      targets: {dsn: 'hostaddr=10.0.0.9 user=pgdr'}\n");
  auto d = LoadConfig(b);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("dsn must not set hostaddr: each member's comes from "
                                      "host_template and port of the entry"),
            std::string::npos)
      << d.status().message();
  unlink(a.c_str());
  unlink(b.c_str());
}

TEST(ConfigTest, RedactedDsnHidesThePassword) {
  EXPECT_EQ(RedactedDsn("host=db port=5432 user=u password=hunter2"),
            "user=u password=xxxxx host=db port=5432");
  EXPECT_EQ(RedactedDsn("postgresql://u:hunter2@db:5432/app").find("hunter2"), std::string::npos);
  EXPECT_EQ(RedactedDsn("host='unterminated"), "<invalid dsn>");
}

TEST(ConfigTest, InvalidDsnErrorsQuoteNoPartOfIt) {
  // libpq quotes the piece it stopped at; here a half of a password, or all of it.
  for (const std::string& dsn : {std::string("host=db password=hunter2 more-of-it"),
                                 std::string("postgresql://u:hunter2%ZZ@db/app")}) {
    const std::string path =
        WriteTemp("targets:\n  - {cluster: a, member: b, dsn: \"" + dsn + "\"}\n");
    auto c = LoadConfig(path);
    ASSERT_FALSE(c.ok()) << dsn;
    const std::string& m = c.status().message();
    EXPECT_NE(m.find(":2:34: invalid dsn: "), std::string::npos) << m;
    EXPECT_NE(m.find("\"<redacted>\""), std::string::npos) << m;
    EXPECT_EQ(m.find("hunter2"), std::string::npos) << m;
    EXPECT_EQ(m.find("more-of-it"), std::string::npos) << m;
    unlink(path.c_str());
  }
}

TEST(DurationTest, PrometheusSyntax) {
  EXPECT_EQ(ParseDuration("1h30m")->count(), 5400000);
  EXPECT_EQ(ParseDuration("250ms")->count(), 250);
  EXPECT_EQ(ParseDuration("0")->count(), 0);
  EXPECT_FALSE(ParseDuration("30m1h").ok());
  EXPECT_FALSE(ParseDuration("5 s").ok());
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(5400000)), "1h30m");
  EXPECT_EQ(FormatDuration(std::chrono::milliseconds(0)), "0s");
}

}  // namespace
}  // namespace pgdr::config

// The monitor over a posix store in a temporary directory, and the S3 driver
// against a scripted local HTTP server for faults.
#include "pgdr/store/backup_monitor.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "pgdr/store/object_store.h"
#include "pgdr/store/wal.h"

namespace pgdr::store {
namespace {

namespace fs = std::filesystem;

std::optional<double> Value(core::MetricSet& set, std::string_view name,
                            std::pair<std::string, std::string> label = {}) {
  auto it = set.families().find(name);
  if (it == set.families().end()) return std::nullopt;
  for (const auto& m : it->second.metric) {
    bool match = label.first.empty();
    for (const auto& l : m.label) {
      if (l.name == label.first && l.value == label.second) match = true;
    }
    if (match) return core::SampleValue(it->second, m);
  }
  return std::nullopt;
}

class PosixMonitorTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ =
        fs::temp_directory_path() / ("pgdr_store_test_" + std::to_string(::getpid()) + "_" +
                                     testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const std::string& key, const std::string& data) {
    fs::create_directories((root_ / key).parent_path());
    std::ofstream(root_ / key) << data;
  }
  void Segment(uint32_t tli, uint64_t segno) {
    std::string name = SegmentName({tli, segno}, kDefaultWalSegmentSize);
    Write("srv/wals/" + name.substr(0, 16) + "/" + name + ".gz", "x");
  }

  std::unique_ptr<BackupMonitor> Make(const std::string& extra = "") {
    std::string yaml =
        "name: local\ncluster: c1\nlayout: barman-cloud\nserver_name: srv\n"
        "url: file://" +
        root_.string() + "\n" + extra;
    core::Result<YAML::Node> node = config::LoadYamlString(yaml, "test.yml");
    EXPECT_TRUE(node.ok());
    auto monitor = MakeBackupMonitor(config::YamlReader("test.yml"), *node);
    EXPECT_TRUE(monitor.ok()) << monitor.status().ToString();
    return monitor.ok() ? std::move(*monitor) : nullptr;
  }

  fs::path root_;
};

TEST_F(PosixMonitorTest, BackupsWalAndGaps) {
  Write("srv/base/20261123T190000/backup.info",
        "backup_id=20261123T190000\nstatus=DONE\nbegin_time=2026-11-23 19:00:00+00:00\n"
        "end_time=2026-11-23 19:00:10+00:00\nbegin_wal=000000010000000000000003\nsize=100\n");
  for (uint64_t s = 1; s <= 6; ++s) Segment(1, s);
  auto monitor = Make("full_list_interval: 0s\n");
  ASSERT_NE(monitor, nullptr);
  core::MetricSet m1;
  ArchiveFacts facts = monitor->Poll(m1);
  EXPECT_TRUE(facts.up);
  EXPECT_EQ(facts.newest_archived_lsn_bytes, 7.0 * kDefaultWalSegmentSize);
  EXPECT_EQ(Value(m1, "pgdr_backup_last_completed_timestamp_seconds", {"type", "full"}),
            1795460410.0);
  EXPECT_EQ(Value(m1, "pgdr_backup_last_duration_seconds"), 10.0);
  EXPECT_EQ(Value(m1, "pgdr_wal_archive_gap_segments"), 0.0);
  EXPECT_EQ(Value(m1, "pgdr_backup_store_up"), 1.0);

  // Delete a middle segment: the next (full) listing sees the hole.
  std::string name = SegmentName({1, 4}, kDefaultWalSegmentSize);
  fs::remove(root_ / ("srv/wals/" + name.substr(0, 16) + "/" + name + ".gz"));
  Segment(1, 7);
  core::MetricSet m2;
  facts = monitor->Poll(m2);
  EXPECT_EQ(Value(m2, "pgdr_wal_archive_gap_segments"), 1.0);
  EXPECT_EQ(facts.newest_archived_lsn_bytes, 8.0 * kDefaultWalSegmentSize);
}

TEST_F(PosixMonitorTest, IncrementalAndTimelineSwitch) {
  // 260 segments: a full directory (log 0) and 4 in log 1.
  for (uint64_t s = 0; s < 260; ++s) Segment(1, s);
  auto monitor = Make();
  core::MetricSet m1;
  monitor->Poll(m1);
  double listed_first = *Value(m1, "pgdr_backup_store_objects_listed_total");
  EXPECT_GE(listed_first, 260.0);
  // Promotion at 1/03000060 (in segment 259): history file, the old
  // timeline's last segment as .partial, timeline 2 from segment 259 on.
  Write("srv/wals/00000002.history", "1\t1/03000060\tno recovery target specified\n");
  Write("srv/wals/0000000100000001/000000010000000100000003.partial", "x");
  Segment(2, 259);
  Segment(2, 260);
  core::MetricSet m2;
  ArchiveFacts facts = monitor->Poll(m2);
  EXPECT_EQ(Value(m2, "pgdr_wal_archive_gap_segments"), 0.0);
  EXPECT_EQ(Value(m2, "pgdr_wal_archive_newest_timeline_id"), 2.0);
  EXPECT_EQ(Value(m2, "pgdr_wal_archive_history_missing"), 0.0);
  EXPECT_EQ(Value(m2, "pgdr_wal_archive_partial_segments"), 1.0);
  EXPECT_EQ(facts.newest_archived_lsn_bytes, 261.0 * kDefaultWalSegmentSize);
  // The second poll skipped the full log-0 directory: it listed the WAL
  // folder's entries, the directory holding the cursor and the new one.
  double listed_second = *Value(m2, "pgdr_backup_store_objects_listed_total") - listed_first;
  EXPECT_LE(listed_second, 12.0) << "incremental poll listed " << listed_second;
}

TEST_F(PosixMonitorTest, GzipHistoryFileIsRead) {
  for (uint64_t s = 1; s <= 4; ++s) Segment(1, s);
  Segment(2, 5);
  Segment(2, 6);
  // barman-cloud-wal-archive --gzip compresses history files too.
  fs::create_directories(root_ / "srv/wals");
  std::string cmd = "printf '1\\t0/5000060\\tx\\n' | gzip -n > " +
                    (root_ / "srv/wals/00000002.history.gz").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto monitor = Make();
  core::MetricSet m;
  monitor->Poll(m);
  EXPECT_EQ(Value(m, "pgdr_wal_archive_history_missing"), 0.0);
  EXPECT_EQ(Value(m, "pgdr_wal_archive_gap_segments"), 0.0);
  // A corrupt one is a counted parse error, and the history counts as missing.
  std::ofstream(root_ / "srv/wals/00000003.history.gz") << "garbage";
  Segment(3, 7);
  core::MetricSet m2;
  monitor->Poll(m2);
  EXPECT_EQ(Value(m2, "pgdr_backup_store_parse_errors_total"), 1.0);
  EXPECT_EQ(Value(m2, "pgdr_wal_archive_history_missing"), 1.0);
}

TEST_F(PosixMonitorTest, GarbageBackupInfoIsACountedParseError) {
  Write("srv/base/20261123T190000/backup.info", "status=DONE\nend_ti");  // truncated
  Write("srv/base/20261123T200000/backup.info", std::string("\0\xff\xfe garbage", 12));
  Segment(1, 1);
  auto monitor = Make();
  core::MetricSet m1;
  EXPECT_TRUE(monitor->Poll(m1).up);
  EXPECT_EQ(Value(m1, "pgdr_backup_store_parse_errors_total"), 2.0);
  EXPECT_EQ(Value(m1, "pgdr_backups", {"status", "invalid"}), 2.0);
  core::MetricSet m2;
  monitor->Poll(m2);  // not re-read, not re-counted
  EXPECT_EQ(Value(m2, "pgdr_backup_store_parse_errors_total"), 2.0);
}

TEST_F(PosixMonitorTest, DeadlineBoundsThePoll) {
  for (uint64_t s = 0; s < 3000; ++s) Segment(1, s);
  auto monitor = Make("deadline: 1ms\n");
  core::MetricSet m;
  EXPECT_FALSE(monitor->Poll(m).up);
  EXPECT_EQ(Value(m, "pgdr_backup_store_up"), 0.0);
}

TEST_F(PosixMonitorTest, ConfigErrorsNamePosition) {
  core::Result<YAML::Node> node = config::LoadYamlString(
      "name: x\ncluster: c\nlayout: barman-cloud\nurl: file:///tmp\nbogus: 1\n", "cfg.yml");
  ASSERT_TRUE(node.ok());
  auto monitor = MakeBackupMonitor(config::YamlReader("cfg.yml"), *node);
  ASSERT_FALSE(monitor.ok());
  EXPECT_NE(monitor.status().message().find("cfg.yml:"), std::string::npos);
  EXPECT_NE(monitor.status().message().find("bogus"), std::string::npos);
  node =
      config::LoadYamlString("name: x\ncluster: c\nlayout: tarball\nurl: file:///tmp\n", "cfg.yml");
  EXPECT_FALSE(MakeBackupMonitor(config::YamlReader("cfg.yml"), *node).ok());
  node = config::LoadYamlString("name: x\ncluster: c\nlayout: pgbackrest\nurl: file:///tmp\n",
                                "cfg.yml");
  EXPECT_FALSE(MakeBackupMonitor(config::YamlReader("cfg.yml"), *node).ok());  // no stanza
  node = config::LoadYamlString("name: x\ncluster: c\nlayout: wal-g\nurl: ftp://h/x\n", "cfg.yml");
  EXPECT_FALSE(MakeBackupMonitor(config::YamlReader("cfg.yml"), *node).ok());
}

TEST_F(PosixMonitorTest, PgDumpAndWalG) {
  Write("dumps/db-20261122.dump", "PGDMP...");
  Write("dumps/db-20261123.dump", "PGDMP....");
  Write("dumps/readme.txt", "x");
  core::Result<YAML::Node> node = config::LoadYamlString(
      "name: dumps\ncluster: c1\nlayout: pg_dump\npattern: 'dumps/*.dump'\nurl: file://" +
          root_.string() + "\n",
      "t.yml");
  auto monitor = MakeBackupMonitor(config::YamlReader("t.yml"), *node);
  ASSERT_TRUE(monitor.ok()) << monitor.status().ToString();
  core::MetricSet m;
  (*monitor)->Poll(m);
  EXPECT_EQ(Value(m, "pgdr_logical_backups"), 2.0);
  EXPECT_EQ(Value(m, "pgdr_logical_backup_last_size_bytes"), 9.0);
  EXPECT_TRUE(Value(m, "pgdr_logical_backup_last_completed_timestamp_seconds").has_value());
}

// WAL-G has no Debian package: its layout is written here following the
// documented names (basebackups_005/<name>_backup_stop_sentinel.json, wal_005/).
TEST_F(PosixMonitorTest, WalGLayoutWrittenByTest) {
  Write("basebackups_005/base_000000010000000000000002_backup_stop_sentinel.json",
        R"({"LSN":33554472,"StartTime":"2026-11-23T19:00:00Z","FinishTime":"2026-11-23T19:02:00Z",)"
        R"("CompressedSize":1234})");
  for (uint64_t s : {1, 2, 3, 5}) {
    Write("wal_005/" + SegmentName({1, s}, kDefaultWalSegmentSize) + ".lz4", "x");
  }
  core::Result<YAML::Node> node = config::LoadYamlString(
      "name: walg\ncluster: c1\nlayout: wal-g\nurl: file://" + root_.string() + "\n", "t.yml");
  auto monitor = MakeBackupMonitor(config::YamlReader("t.yml"), *node);
  ASSERT_TRUE(monitor.ok()) << monitor.status().ToString();
  core::MetricSet m;
  (*monitor)->Poll(m);
  EXPECT_EQ(Value(m, "pgdr_backup_last_completed_timestamp_seconds", {"type", "full"}),
            1795460520.0);
  EXPECT_EQ(Value(m, "pgdr_wal_archive_gap_segments"), 1.0);
  EXPECT_EQ(Value(m, "pgdr_backup_last_size_bytes"), 1234.0);
}

// A scripted HTTP server on loopback: answers every request with `response`,
// or accepts and never answers when `hang`.
class ScriptedServer {
 public:
  ScriptedServer(std::string response, bool hang) : response_(std::move(response)), hang_(hang) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 16);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    for (int c : clients_) ::close(c);
  }
  int port() const { return port_; }

 private:
  void Serve() {
    while (!stop_) {
      int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      clients_.push_back(client);
      if (hang_) continue;
      char buf[8192];
      ssize_t n = ::recv(client, buf, sizeof buf, 0);
      (void)n;
      std::string reply = response_;
      ssize_t sent = ::send(client, reply.data(), reply.size(), MSG_NOSIGNAL);
      (void)sent;
      ::shutdown(client, SHUT_WR);
    }
  }
  std::string response_;
  bool hang_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<int> clients_;
  std::thread thread_;
};

std::string Http(int status, std::string_view body) {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         std::string(body);
}

struct FaultCase {
  std::string name;
  std::string response;
  bool hang;
  std::string expected;  // in the error message
};

class S3FaultTest : public testing::TestWithParam<FaultCase> {};

TEST_P(S3FaultTest, StoreDownWithClearError) {
  const FaultCase& c = GetParam();
  ScriptedServer server(c.response, c.hang);
  ::setenv("PGDR_TEST_KEY", "k", 1);
  core::Result<YAML::Node> node = config::LoadYamlString(
      "name: s3\ncluster: c1\nlayout: barman-cloud\nurl: s3://b/p\ntimeout: 500ms\n"
      "endpoint: http://127.0.0.1:" +
          std::to_string(server.port()) +
          "\naccess_key_id_env: PGDR_TEST_KEY\nsecret_access_key_env: PGDR_TEST_KEY\n",
      "t.yml");
  auto monitor = MakeBackupMonitor(config::YamlReader("t.yml"), *node);
  ASSERT_TRUE(monitor.ok()) << monitor.status().ToString();
  core::MetricSet m;
  ArchiveFacts facts = (*monitor)->Poll(m);
  EXPECT_FALSE(facts.up);
  EXPECT_EQ(Value(m, "pgdr_backup_store_up"), 0.0);
  // The error itself is logged; here check the driver's wording directly.
  StoreOptions options;
  options.url = "s3://b/p";
  options.endpoint = "http://127.0.0.1:" + std::to_string(server.port());
  options.access_key_id.env = options.secret_access_key.env = "PGDR_TEST_KEY";
  options.timeout = std::chrono::milliseconds(500);
  auto store = MakeObjectStore(options);
  ASSERT_TRUE(store.ok());
  core::Status s =
      (*store)->List({"x/", "", false}, [](const ObjectInfo&) { return core::Status::OK(); });
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(c.expected), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("s3://b/p"), std::string::npos) << s.message();
}

INSTANTIATE_TEST_SUITE_P(
    Faults, S3FaultTest,
    testing::Values(
        FaultCase{"Forbidden",
                  Http(403, "<Error><Code>AccessDenied</Code><Message>no</Message></Error>"), false,
                  "access denied"},
        FaultCase{"NotFound", Http(404, "<Error><Code>NoSuchBucket</Code></Error>"), false,
                  "NoSuchBucket"},
        FaultCase{"ServerError", Http(500, "oops"), false, "unexpected HTTP status 500"},
        FaultCase{"MalformedXml", Http(200, "<ListBucketResult><Contents><Key>p/x"), false,
                  "malformed listing"},
        FaultCase{"Hung", "", true, "timed out"}),
    [](const testing::TestParamInfo<FaultCase>& info) { return info.param.name; });

TEST(ListAfterTest, PosixWalkSkipsOldDirectories) {
  fs::path root = fs::temp_directory_path() / ("pgdr_listafter_" + std::to_string(::getpid()));
  fs::remove_all(root);
  for (const char* key : {"w/a/1", "w/a/2", "w/b/1", "w/b/2", "w/c/1"}) {
    fs::create_directories((root / key).parent_path());
    std::ofstream(root / key) << "x";
  }
  StoreOptions options;
  options.url = "file://" + root.string();
  auto store = MakeObjectStore(options);
  ASSERT_TRUE(store.ok());
  std::vector<std::string> keys;
  core::Status s = ListAfter(**store, {"w/", "w/b/1", false}, [&](const ObjectInfo& info) {
    keys.push_back(info.key);
    return core::Status::OK();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(keys, (std::vector<std::string>{"w/b/2", "w/c/1"}));
  EXPECT_LE((*store)->stats().objects_listed, 6u);  // never w/a's entries
  fs::remove_all(root);
}

}  // namespace
}  // namespace pgdr::store

// Cost of polling a backup store as its history grows.
//
// A barman-cloud layout is generated: "small" holds 100 WAL segments and 1
// backup, "large" 50,000 segments and 100 backups. FirstPoll measures the
// cold full listing; IncrementalPoll adds one new segment per iteration
// (untimed) and measures the poll that picks it up — the steady-state cost,
// which must not grow with history.
//
// Two stores: a local directory (posix driver), and the S3 driver (SigV4,
// libcurl, ListObjectsV2 XML) against an in-process S3 server on loopback
// that answers ListObjectsV2 (prefix, delimiter, start-after, continuation)
// and GetObject from the same key set, so the S3 figures are the client's
// cost plus a minimal server's.
//
// Counters: objects the driver returned and requests it made, per poll.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "pgdr/store/backup_monitor.h"
#include "pgdr/store/object_store.h"
#include "pgdr/store/wal.h"

namespace pgdr::store {
namespace {

namespace fs = std::filesystem;

class Store {
 public:
  Store(int segments, int backups) {
    root_ = fs::temp_directory_path() /
            ("pgdr_bench_" + std::to_string(::getpid()) + "_" + std::to_string(segments));
    fs::remove_all(root_);
    for (int s = 1; s <= segments; ++s) AddSegment(s);
    for (int b = 0; b < backups; ++b) {
      // Backups spread over the history, the oldest at the first segment.
      uint64_t segno = 1 + static_cast<uint64_t>(b) * segments / backups;
      std::string id = "20261101T" + std::to_string(100000 + b);
      Write("srv/base/" + id + "/backup.info",
            "backup_id=" + id +
                "\nstatus=DONE\nbegin_time=2026-11-01 00:00:00+00:00\n"
                "end_time=2026-11-01 00:10:00+00:00\nbegin_wal=" +
                SegmentName({1, segno}, kDefaultWalSegmentSize) + "\nsize=1000\n");
    }
    next_ = segments + 1;
  }
  ~Store() { fs::remove_all(root_); }

  void AddSegment(uint64_t segno) {
    std::string name = SegmentName({1, segno}, kDefaultWalSegmentSize);
    Write("srv/wals/" + name.substr(0, 16) + "/" + name, "");
  }
  void AddNext() { AddSegment(next_++); }

  std::unique_ptr<BackupMonitor> Monitor() const {
    std::string yaml =
        "name: bench\ncluster: c\nlayout: barman-cloud\nserver_name: srv\n"
        "full_list_interval: 1000h\nurl: file://" +
        root_.string() + "\n";
    core::Result<YAML::Node> node = config::LoadYamlString(yaml, "bench.yml");
    auto monitor = MakeBackupMonitor(config::YamlReader("bench.yml"), *node);
    return monitor.ok() ? std::move(*monitor) : nullptr;
  }

 private:
  void Write(const std::string& key, const std::string& data) {
    fs::create_directories((root_ / key).parent_path());
    std::ofstream(root_ / key) << data;
  }
  fs::path root_;
  uint64_t next_ = 1;
};

Store& Fixture(int64_t segments) {
  static std::map<int64_t, std::unique_ptr<Store>> stores;
  auto& store = stores[segments];
  if (!store)
    store = std::make_unique<Store>(static_cast<int>(segments), segments >= 50000 ? 100 : 1);
  return *store;
}

double Counter(core::MetricSet& set, std::string_view name) {
  double total = 0;
  auto it = set.families().find(name);
  if (it == set.families().end()) return 0;
  for (const auto& m : it->second.metric) total += core::SampleValue(it->second, m);
  return total;
}

// A minimal S3 server over an in-memory key set (path-style, one request per
// connection). Thread-safety: keys are added under mu_.
class FakeS3 {
 public:
  FakeS3() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 64);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeS3() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  void Put(const std::string& key, std::string data) {
    std::lock_guard lock(mu_);
    objects_[key] = std::move(data);
  }

 private:
  static std::string Decode(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '%' && i + 2 < s.size()) {
        out += static_cast<char>(std::strtol(std::string(s.substr(i + 1, 2)).c_str(), nullptr, 16));
        i += 2;
      } else {
        out += s[i];
      }
    }
    return out;
  }

  std::string List(const std::map<std::string, std::string>& q) {
    std::string prefix = q.contains("prefix") ? q.at("prefix") : "";
    std::string after = q.contains("continuation-token") ? q.at("continuation-token")
                        : q.contains("start-after")      ? q.at("start-after")
                                                         : "";
    bool delimited = q.contains("delimiter");
    std::string body = "<ListBucketResult>";
    std::set<std::string> prefixes;
    int n = 0;
    std::string last;
    std::lock_guard lock(mu_);
    for (auto it = objects_.upper_bound(after); it != objects_.end(); ++it) {
      const std::string& key = it->first;
      if (!key.starts_with(prefix)) {
        if (key > prefix) break;
        continue;
      }
      if (n == 1000) {
        body += "<IsTruncated>true</IsTruncated><NextContinuationToken>" + last +
                "</NextContinuationToken>";
        break;
      }
      last = key;
      size_t slash = delimited ? key.find('/', prefix.size()) : std::string::npos;
      if (slash != std::string::npos) {
        std::string p = key.substr(0, slash + 1);
        if (prefixes.insert(p).second) {
          body += "<CommonPrefixes><Prefix>" + p + "</Prefix></CommonPrefixes>";
          ++n;
        }
        continue;
      }
      body += "<Contents><Key>" + key +
              "</Key><LastModified>2026-11-23T19:00:00.000Z</LastModified><Size>" +
              std::to_string(it->second.size()) + "</Size></Contents>";
      ++n;
    }
    return body + "</ListBucketResult>";
  }

  void Serve() {
    while (true) {
      int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      std::string request;
      char buf[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::recv(client, buf, sizeof buf, 0);
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      // "GET /bucket/key?query HTTP/1.1"
      std::string target = request.substr(4, request.find(' ', 4) - 4);
      std::string path = target.substr(0, target.find('?'));
      std::map<std::string, std::string> query;
      if (size_t qm = target.find('?'); qm != std::string::npos) {
        std::string_view rest = std::string_view(target).substr(qm + 1);
        while (!rest.empty()) {
          std::string_view pair = rest.substr(0, rest.find('&'));
          rest = pair.size() == rest.size() ? "" : rest.substr(pair.size() + 1);
          size_t eq = pair.find('=');
          query[Decode(pair.substr(0, eq))] =
              eq == std::string_view::npos ? "" : Decode(pair.substr(eq + 1));
        }
      }
      std::string key = Decode(path.substr(std::min(path.size(), path.find('/', 1) + 1)));
      std::string body;
      int status = 200;
      if (query.contains("list-type")) {
        body = List(query);
      } else {
        std::lock_guard lock(mu_);
        auto it = objects_.find(key);
        if (it == objects_.end()) {
          status = 404;
        } else {
          body = it->second;
        }
      }
      std::string reply =
          "HTTP/1.1 " + std::to_string(status) +
          " X\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
          body;
      ssize_t sent = ::send(client, reply.data(), reply.size(), MSG_NOSIGNAL);
      (void)sent;
      ::close(client);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::mutex mu_;
  std::map<std::string, std::string> objects_;
  std::thread thread_;
};

class S3Fixture {
 public:
  S3Fixture(int segments, int backups) {
    ::setenv("PGDR_BENCH_KEY", "bench", 1);
    for (int s = 1; s <= segments; ++s) AddSegment(s);
    for (int b = 0; b < backups; ++b) {
      uint64_t segno = 1 + static_cast<uint64_t>(b) * segments / backups;
      std::string id = "20261101T" + std::to_string(100000 + b);
      server_.Put("p/srv/base/" + id + "/backup.info",
                  "backup_id=" + id +
                      "\nstatus=DONE\nbegin_time=2026-11-01 00:00:00+00:00\n"
                      "end_time=2026-11-01 00:10:00+00:00\nbegin_wal=" +
                      SegmentName({1, segno}, kDefaultWalSegmentSize) + "\nsize=1000\n");
      server_.Put("p/srv/base/" + id + "/data.tar", "x");
    }
    next_ = segments + 1;
  }
  void AddSegment(uint64_t segno) {
    std::string name = SegmentName({1, segno}, kDefaultWalSegmentSize);
    server_.Put("p/srv/wals/" + name.substr(0, 16) + "/" + name, "");
  }
  void AddNext() { AddSegment(next_++); }
  std::unique_ptr<BackupMonitor> Monitor() const {
    std::string yaml =
        "name: bench\ncluster: c\nlayout: barman-cloud\nserver_name: srv\n"
        "full_list_interval: 1000h\nurl: s3://b/p\naccess_key_id_env: PGDR_BENCH_KEY\n"
        "secret_access_key_env: PGDR_BENCH_KEY\nendpoint: http://127.0.0.1:" +
        std::to_string(server_.port()) + "\n";
    core::Result<YAML::Node> node = config::LoadYamlString(yaml, "bench.yml");
    auto monitor = MakeBackupMonitor(config::YamlReader("bench.yml"), *node);
    return monitor.ok() ? std::move(*monitor) : nullptr;
  }

 private:
  FakeS3 server_;
  uint64_t next_ = 1;
};

S3Fixture& S3Store(int64_t segments) {
  static std::map<int64_t, std::unique_ptr<S3Fixture>> stores;
  auto& store = stores[segments];
  if (!store) {
    store = std::make_unique<S3Fixture>(static_cast<int>(segments), segments >= 50000 ? 100 : 1);
  }
  return *store;
}

template <typename Fixture>
void FirstPoll(benchmark::State& state, Fixture& store) {
  double listed = 0, requests = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto monitor = store.Monitor();
    state.ResumeTiming();
    core::MetricSet out;
    ArchiveFacts facts = monitor->Poll(out);
    benchmark::DoNotOptimize(facts);
    listed = Counter(out, "pgdr_backup_store_objects_listed_total");
    requests = Counter(out, "pgdr_backup_store_requests_total");
  }
  state.counters["objects_listed"] = listed;
  state.counters["requests"] = requests;
}

template <typename Fixture>
void IncrementalPoll(benchmark::State& state, Fixture& store) {
  auto monitor = store.Monitor();
  core::MetricSet first;
  monitor->Poll(first);
  double listed_before = Counter(first, "pgdr_backup_store_objects_listed_total");
  double requests_before = Counter(first, "pgdr_backup_store_requests_total");
  double listed = 0, requests = 0;
  int64_t polls = 0;
  for (auto _ : state) {
    state.PauseTiming();
    store.AddNext();
    state.ResumeTiming();
    core::MetricSet out;
    ArchiveFacts facts = monitor->Poll(out);
    benchmark::DoNotOptimize(facts);
    listed = Counter(out, "pgdr_backup_store_objects_listed_total");
    requests = Counter(out, "pgdr_backup_store_requests_total");
    ++polls;
  }
  if (polls > 0) {
    state.counters["objects_listed"] = (listed - listed_before) / static_cast<double>(polls);
    state.counters["requests"] = (requests - requests_before) / static_cast<double>(polls);
  }
}

void BM_S3FirstPoll(benchmark::State& state) { FirstPoll(state, S3Store(state.range(0))); }
void BM_S3IncrementalPoll(benchmark::State& state) {
  IncrementalPoll(state, S3Store(state.range(0)));
}

void BM_PosixFirstPoll(benchmark::State& state) { FirstPoll(state, Fixture(state.range(0))); }
void BM_PosixIncrementalPoll(benchmark::State& state) {
  IncrementalPoll(state, Fixture(state.range(0)));
}

BENCHMARK(BM_PosixFirstPoll)->Arg(100)->Arg(50000)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_PosixIncrementalPoll)->Arg(100)->Arg(50000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_S3FirstPoll)->Arg(100)->Arg(50000)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_S3IncrementalPoll)->Arg(100)->Arg(50000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace pgdr::store

BENCHMARK_MAIN();

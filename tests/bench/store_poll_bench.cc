// Cost of polling a backup store as its history grows.
//
// A barman-cloud layout is generated in a local directory (posix driver):
// "small" holds 100 WAL segments and 1 backup, "large" 50,000 segments and
// 100 backups. FirstPoll measures the cold full listing; IncrementalPoll adds
// one new segment per iteration (untimed) and measures the poll that picks it
// up — the steady-state cost, which must not grow with history.
//
// Counters: objects the driver returned and requests it made, per poll.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

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
    Result<YAML::Node> node = LoadYamlString(yaml, "bench.yml");
    auto monitor = MakeBackupMonitor(YamlReader("bench.yml"), *node);
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

double Counter(MetricSet& set, std::string_view name) {
  double total = 0;
  auto it = set.families().find(name);
  if (it == set.families().end()) return 0;
  for (const auto& m : it->second.metric) total += SampleValue(it->second, m);
  return total;
}

void BM_FirstPoll(benchmark::State& state) {
  Store& store = Fixture(state.range(0));
  double listed = 0, requests = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto monitor = store.Monitor();
    state.ResumeTiming();
    MetricSet out;
    ArchiveFacts facts = monitor->Poll(out);
    benchmark::DoNotOptimize(facts);
    listed = Counter(out, "pgdr_backup_store_objects_listed_total");
    requests = Counter(out, "pgdr_backup_store_requests_total");
  }
  state.counters["objects_listed"] = listed;
  state.counters["requests"] = requests;
}

void BM_IncrementalPoll(benchmark::State& state) {
  Store& store = Fixture(state.range(0));
  auto monitor = store.Monitor();
  MetricSet first;
  monitor->Poll(first);
  double listed_before = Counter(first, "pgdr_backup_store_objects_listed_total");
  double requests_before = Counter(first, "pgdr_backup_store_requests_total");
  double listed = 0, requests = 0;
  int64_t polls = 0;
  for (auto _ : state) {
    state.PauseTiming();
    store.AddNext();
    state.ResumeTiming();
    MetricSet out;
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

BENCHMARK(BM_FirstPoll)->Arg(100)->Arg(50000)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_IncrementalPoll)->Arg(100)->Arg(50000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace pgdr::store

BENCHMARK_MAIN();

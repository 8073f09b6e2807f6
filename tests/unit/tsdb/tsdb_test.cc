#include "pgdr/tsdb/tsdb.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <set>
#include <thread>

namespace pgdr::tsdb {
namespace {

Labels L(std::vector<Label> l) { return MakeLabels(std::move(l)); }

std::vector<Matcher> NameIs(const std::string& name) {
  return {*Matcher::Make(MatchType::kEqual, "__name__", name)};
}

prometheus::MetricFamily Gauge(const std::string& name, const std::string& label, double v) {
  prometheus::MetricFamily f;
  f.name = name;
  f.type = prometheus::MetricType::Gauge;
  prometheus::ClientMetric m;
  m.label = {{"member", label}};
  m.gauge.value = v;
  f.metric.push_back(m);
  return f;
}

TEST(Tsdb, AppendAndSelectRange) {
  Tsdb db;
  Labels a = L({{"__name__", "up"}, {"job", "a"}});
  EXPECT_TRUE(db.Append(a, 1000, 1));
  EXPECT_TRUE(db.Append(a, 2000, 2));
  EXPECT_FALSE(db.Append(a, 1500, 9)) << "out of order is dropped";
  auto series = db.Select(NameIs("up"), 1500, 2000);
  ASSERT_EQ(series.size(), 1u);
  ASSERT_EQ(series[0].samples.size(), 1u);
  EXPECT_EQ(series[0].samples[0].v, 2);
  EXPECT_EQ(db.GetStats().out_of_order_samples, 1u);
}

TEST(Tsdb, RegexMatchersAreAnchored) {
  Tsdb db;
  db.Append(L({{"__name__", "x"}, {"job", "api"}}), 0, 1);
  db.Append(L({{"__name__", "x"}, {"job", "api-server"}}), 0, 1);
  auto m = Matcher::Make(MatchType::kRegexMatch, "job", "api");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(db.Select({*m}, 0, 0).size(), 1u);
  EXPECT_FALSE(Matcher::Make(MatchType::kRegexMatch, "job", "(").ok());
}

TEST(Tsdb, ScrapeMarksVanishedSeriesStale) {
  Tsdb db;
  db.AppendScrape("pg1", {Gauge("pgdr_up", "a", 1), Gauge("pgdr_lag", "a", 5)}, 1000);
  db.AppendScrape("pg1", {Gauge("pgdr_up", "a", 1)}, 2000);
  auto lag = db.Select(NameIs("pgdr_lag"), 0, 3000);
  ASSERT_EQ(lag.size(), 1u);
  ASSERT_EQ(lag[0].samples.size(), 2u);
  EXPECT_TRUE(IsStaleNaN(lag[0].samples[1].v));
  // Another source producing nothing does not touch pg1's series.
  db.AppendScrape("pg2", {}, 3000);
  EXPECT_EQ(db.Select(NameIs("pgdr_up"), 0, 3000)[0].samples.size(), 2u);
  db.MarkSourceStale("pg1", 4000);
  EXPECT_TRUE(IsStaleNaN(db.Select(NameIs("pgdr_up"), 0, 4000)[0].samples.back().v));
}

TEST(Tsdb, ScrapeFilterKeepsOnlySelectedFamilies) {
  Tsdb db;
  db.SetScrapeFilter(std::set<std::string>{"pgdr_up"});
  db.AppendScrape("pg1", {Gauge("pgdr_up", "a", 1), Gauge("pgdr_lag", "a", 5)}, 1000);
  EXPECT_EQ(db.Select(NameIs("pgdr_up"), 0, 1000).size(), 1u);
  EXPECT_TRUE(db.Select(NameIs("pgdr_lag"), 0, 1000).empty());
  EXPECT_EQ(db.GetStats().series, 1u);
  // A rule's own output is not filtered.
  EXPECT_TRUE(db.Append(L({{"__name__", "recorded"}}), 1000, 1));
  // A new filter drops pgdr_up: its series goes stale like a vanished one.
  db.SetScrapeFilter(std::set<std::string>{"pgdr_lag"});
  db.AppendScrape("pg1", {Gauge("pgdr_up", "a", 1), Gauge("pgdr_lag", "a", 5)}, 2000);
  EXPECT_TRUE(IsStaleNaN(db.Select(NameIs("pgdr_up"), 0, 2000)[0].samples.back().v));
  EXPECT_EQ(db.Select(NameIs("pgdr_lag"), 0, 2000).size(), 1u);
  // No filter: everything.
  db.SetScrapeFilter(std::nullopt);
  db.AppendScrape("pg1", {Gauge("pgdr_other", "a", 1)}, 3000);
  EXPECT_EQ(db.Select(NameIs("pgdr_other"), 0, 3000).size(), 1u);
}

TEST(Tsdb, HistogramsBecomeBucketSumCount) {
  Tsdb db;
  prometheus::MetricFamily f;
  f.name = "pgdr_probe_latency_seconds";
  f.type = prometheus::MetricType::Histogram;
  prometheus::ClientMetric m;
  m.histogram.sample_count = 3;
  m.histogram.sample_sum = 0.6;
  m.histogram.bucket = {{1, 0.1}, {3, 1}};
  f.metric.push_back(m);
  db.AppendScrape("s", {f}, 0);
  auto buckets = db.Select(NameIs("pgdr_probe_latency_seconds_bucket"), 0, 0);
  ASSERT_EQ(buckets.size(), 3u);  // 0.1, 1 and the implied +Inf
  EXPECT_EQ(GetLabel(buckets[0].labels, "le"), "+Inf");
  EXPECT_EQ(db.Select(NameIs("pgdr_probe_latency_seconds_count"), 0, 0)[0].samples[0].v, 3);
  EXPECT_DOUBLE_EQ(db.Select(NameIs("pgdr_probe_latency_seconds_sum"), 0, 0)[0].samples[0].v, 0.6);
  // A filter naming one of the histogram's series keeps the whole family.
  Tsdb filtered;
  filtered.SetScrapeFilter(std::set<std::string>{"pgdr_probe_latency_seconds_bucket"});
  filtered.AppendScrape("s", {f, Gauge("pgdr_up", "a", 1)}, 0);
  EXPECT_EQ(filtered.Select(NameIs("pgdr_probe_latency_seconds_bucket"), 0, 0).size(), 3u);
  EXPECT_TRUE(filtered.Select(NameIs("pgdr_up"), 0, 0).empty());
}

TEST(Tsdb, RetentionAndRingBoundMemory) {
  Options o;
  o.retention = std::chrono::seconds(10);
  o.max_samples_per_series = 5;
  o.max_series = 2;
  Tsdb db(o);
  Labels a = L({{"__name__", "a"}});
  for (int i = 0; i < 100; ++i) db.Append(a, i * 1000, i);
  Stats s = db.GetStats();
  EXPECT_EQ(s.series, 1u);
  EXPECT_EQ(s.samples, 5u);
  EXPECT_GT(s.bytes, 0u);
  db.Append(L({{"__name__", "b"}}), 0, 1);
  EXPECT_FALSE(db.Append(L({{"__name__", "c"}}), 0, 1));
  EXPECT_EQ(db.GetStats().dropped_series, 1u);
  db.Compact(1'000'000);
  EXPECT_EQ(db.GetStats().series, 0u);
}

TEST(Tsdb, ConcurrentAppendAndSelect) {
  Tsdb db;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 2000; ++i) {
      db.AppendScrape("s", {Gauge("g", std::to_string(i % 50), i)}, i * 1000);
    }
    done = true;
  });
  // Scrape i writes the value i at i s to member i % 50 (and marks the
  // member of scrape i - 1 stale): every read, taken while the writer runs,
  // must see whole samples, in time order, each in its own series.
  const auto read = [&db] {
    size_t real = 0;
    for (const auto& s : db.Select(NameIs("g"), 0, 1 << 30)) {
      const int member = std::stoi(std::string(GetLabel(s.labels, "member")));
      int64_t last = -1;
      for (const auto& sample : s.samples) {
        EXPECT_GT(sample.t, last);
        last = sample.t;
        if (IsStaleNaN(sample.v)) continue;
        EXPECT_EQ(sample.v * 1000, static_cast<double>(sample.t));
        EXPECT_EQ(static_cast<int>(sample.v) % 50, member);
        ++real;
      }
    }
    return real;
  };
  while (!done) read();
  writer.join();
  EXPECT_EQ(db.GetStats().series, 50u);
  EXPECT_EQ(read(), 2000u);
}

TEST(Labels, Formatting) {
  Labels l = L({{"__name__", "up"}, {"job", "a\"b"}});
  EXPECT_EQ(LabelsToString(l), "up{job=\"a\\\"b\"}");
  EXPECT_EQ(LabelsToGoString(l), "{__name__=\"up\", job=\"a\\\"b\"}");
  EXPECT_EQ(LabelsToString({}), "{}");
}

}  // namespace
}  // namespace pgdr::tsdb

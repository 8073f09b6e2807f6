#include "pgdr/collect/exposition.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <cstring>
#include <limits>

#include "pgdr/collect/snapshot.h"
#include "pgdr/core/metric_set.h"

namespace pgdr::collect {
namespace {

using prometheus::MetricFamily;

// What the exposition must equal: every source merged in order, serialised at once.
std::string Reference(const std::vector<std::vector<MetricFamily>>& sources, size_t* series) {
  core::MetricSet all;
  for (const auto& s : sources) all.Merge(s);
  *series = all.series();
  return prometheus::TextSerializer().Serialize(all.Take());
}

std::string Assemble(const std::vector<std::vector<MetricFamily>>& sources, size_t* series) {
  std::vector<SerializedFamilies> text;
  for (const auto& s : sources) text.push_back(SerializeFamilies(s));
  std::vector<const SerializedFamilies*> ptrs;
  for (const auto& t : text) ptrs.push_back(&t);
  return AssembleExposition(ptrs, series);
}

std::vector<MetricFamily> Member(const std::string& member, double v) {
  core::MetricSet m;
  const core::Labels base = {{"cluster", "c"}, {"member", member}};
  m.Gauge("pgdr_up", "Whether the member answered.", base, 1);
  for (int i = 0; i < 3; ++i) {
    core::Labels l = base;
    l.push_back({"name", "setting_" + std::to_string(i)});
    m.Gauge("pgdr_setting", "Settings, base units.", l, v * i);
  }
  core::Labels odd = base;
  odd.push_back({"q", "a \"quoted\"\nnew line \\ back"});
  m.Counter("pgdr_xact_commit_total", "Commits.", odd, 1e21);
  m.Gauge("pgdr_nan", "", base, std::numeric_limits<double>::quiet_NaN());
  prometheus::ClientMetric::Histogram h;
  h.sample_count = 3;
  h.sample_sum = 0.25;
  h.bucket = {{1, 0.001}, {3, std::numeric_limits<double>::infinity()}};
  m.Histogram("pgdr_probe_latency_seconds", "Probe round trip.", base, h);
  return m.Take();
}

TEST(Exposition, EqualsOneSerializationOfTheMergedSources) {
  std::vector<std::vector<MetricFamily>> sources = {Member("a", 1), Member("b", 2), Member("c", 3)};
  // A source using a known name with another type is left out of that family,
  // and one with a family of its own (no samples) still writes its header.
  core::MetricSet other;
  other.Counter("pgdr_up", "Clash.", {}, 5);
  other.Gauge("pgdr_build_info", "Build.", {{"version", "1"}}, 1);
  auto fams = other.Take();
  MetricFamily empty;
  empty.name = "pgdr_empty";
  empty.help = "No samples.";
  empty.type = prometheus::MetricType::Gauge;
  fams.push_back(empty);
  sources.push_back(fams);
  sources.push_back({});
  size_t want_series = 0;
  size_t got_series = 0;
  const std::string want = Reference(sources, &want_series);
  EXPECT_EQ(Assemble(sources, &got_series), want);
  EXPECT_EQ(got_series, want_series);
  // One header per family, all samples of a family together.
  EXPECT_EQ(want.find("# TYPE pgdr_setting gauge"), want.rfind("# TYPE pgdr_setting gauge"));
  EXPECT_NE(want.find("pgdr_empty"), std::string::npos);
}

TEST(Exposition, SplitsEveryFamilyExactly) {
  const auto families = Member("a", 7);
  const SerializedFamilies text = SerializeFamilies(families);
  ASSERT_EQ(text.size(), families.size());
  for (size_t i = 0; i < families.size(); ++i) {
    EXPECT_EQ(text[i].header + text[i].samples,
              prometheus::TextSerializer().Serialize({families[i]}))
        << families[i].name;
    EXPECT_EQ(text[i].series, families[i].metric.size());
  }
}

TEST(Exposition, WritesEveryValueAsTheSerializerDoes) {
  std::vector<double> values = {0,
                                -0.0,
                                1,
                                -5,
                                1.5,
                                0.1,
                                1.0 / 3,
                                1e21,
                                1e-7,
                                123456789012345678.0,
                                9007199254740993.0,
                                1700000000.123456,
                                std::numeric_limits<double>::max(),
                                std::numeric_limits<double>::min(),
                                std::numeric_limits<double>::denorm_min(),
                                std::numeric_limits<double>::quiet_NaN(),
                                std::numeric_limits<double>::infinity(),
                                -std::numeric_limits<double>::infinity()};
  uint64_t x = 88172645463325252ull;  // xorshift: many more values, reproducibly
  for (int i = 0; i < 2000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    double d = 0;
    std::memcpy(&d, &x, sizeof d);
    values.push_back(d);
    values.push_back(static_cast<double>(x % 100000000) / 1000);
  }
  for (auto type : {prometheus::MetricType::Counter, prometheus::MetricType::Gauge,
                    prometheus::MetricType::Untyped}) {
    MetricFamily f;
    f.name = "t";
    f.help = "h";
    f.type = type;
    for (size_t i = 0; i < values.size(); ++i) {
      prometheus::ClientMetric m;
      if (i % 3 != 0) m.label = {{"a", "x"}, {"b", "\\\"\n" + std::to_string(i)}};
      if (i % 7 == 0) m.timestamp_ms = 1700000000000 + static_cast<int64_t>(i);
      m.counter.value = m.gauge.value = m.untyped.value = values[i];
      f.metric.push_back(m);
    }
    const auto text = SerializeFamilies({f});
    ASSERT_EQ(text.size(), 1u);
    EXPECT_EQ(text[0].header + text[0].samples, prometheus::TextSerializer().Serialize({f}));
  }
}

TEST(Exposition, WritesHistogramsAsTheSerializerDoes) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  MetricFamily f;
  f.name = "h_seconds";
  f.help = "A histogram.";
  f.type = prometheus::MetricType::Histogram;
  const std::vector<std::vector<prometheus::ClientMetric::Bucket>> bucket_sets = {
      {{1, 0.0005}, {2, 0.1}, {5, 2.5}, {7, kInf}},  // +Inf last: no extra bucket
      {{0, 1e-7}, {3, 1.0 / 3}, {9, 10}},            // the serializer adds +Inf
      {}};
  for (size_t i = 0; i < bucket_sets.size() * 3; ++i) {
    prometheus::ClientMetric m;
    if (i % 3 == 1) m.label = {{"cluster", "c"}, {"q", "a \"quoted\"\nline \\"}};
    if (i % 3 == 2) m.timestamp_ms = 1700000000123;
    m.histogram.bucket = bucket_sets[i / 3];
    m.histogram.sample_count = 7 + i;
    m.histogram.sample_sum =
        i == 4 ? std::numeric_limits<double>::quiet_NaN() : 0.1 * i + 1e21 * (i == 5);
    f.metric.push_back(m);
  }
  const auto text = SerializeFamilies({f});
  ASSERT_EQ(text.size(), 1u);
  EXPECT_EQ(text[0].header + text[0].samples, prometheus::TextSerializer().Serialize({f}));
  EXPECT_EQ(text[0].series, f.metric.size());
}

TEST(ExpositionCache, SerialisesEachOwnerOnceAndForgetsUnusedOnes) {
  ExpositionCache cache;
  auto a = std::make_shared<const std::vector<MetricFamily>>(Member("a", 1));
  auto b = std::make_shared<const std::vector<MetricFamily>>(Member("b", 1));
  const SerializedFamilies& first = cache.Get(a, *a);
  cache.Get(b, *b);
  cache.EndRound();
  EXPECT_EQ(cache.serialized(), 2u);
  EXPECT_EQ(&cache.Get(a, *a), &first);  // kept, same text, not serialised again
  cache.EndRound();
  EXPECT_EQ(cache.serialized(), 2u);
  cache.EndRound();  // a unused for a round: dropped
  cache.Get(a, *a);
  EXPECT_EQ(cache.serialized(), 3u);
}

std::shared_ptr<const TargetResult> MemberResult(const std::string& member, double v) {
  auto r = std::make_shared<TargetResult>();
  r->key = "c/" + member;
  r->cluster = "c";
  r->member = member;
  r->labels = {{"cluster", "c"}, {"member", member}};
  r->facts.up = true;
  r->facts.in_recovery = member != "a";
  r->facts.lsn_bytes = 1000 - v;
  r->facts.server_time_seconds = 100;
  r->facts.last_replay_timestamp_seconds = 99;
  r->families = Member(member, v);
  return r;
}

TEST(SnapshotComposer, RecomposesOnlyChangedTargetsAndMatchesAFullSerialization) {
  SnapshotInputs in;
  for (const char* m : {"a", "b", "c"}) in.targets[std::string("c/") + m] = MemberResult(m, 1);
  core::MetricSet self;
  self.Gauge("pgdr_build_info", "Build.", {{"version", "1"}}, 1);
  in.other = self.Take();
  auto store = std::make_shared<const std::vector<MetricFamily>>(Member("store", 4));
  in.stable.push_back({store, store.get()});
  in.now = std::chrono::system_clock::now();

  SnapshotComposer composer;
  auto check = [&](const Snapshot& s) {
    std::vector<std::vector<MetricFamily>> sources;
    for (const auto& [key, t] : in.targets) sources.push_back(t->families);
    sources.push_back(s.computed);
    sources.push_back(in.other);
    sources.push_back(*store);
    size_t series = 0;
    EXPECT_EQ(s.text, Reference(sources, &series));
    EXPECT_EQ(s.series, series);
    EXPECT_FALSE(s.computed.empty());
  };
  check(*composer.Compose(in));
  EXPECT_EQ(composer.serialized_sources(), 4u);
  in.targets["c/b"] = MemberResult("b", 2);
  check(*composer.Compose(in));
  EXPECT_EQ(composer.serialized_sources(), 5u);  // only the new result of b
  in.targets.erase("c/c");
  check(*composer.Compose(in));
  EXPECT_EQ(composer.serialized_sources(), 5u);
  EXPECT_EQ(ComposeSnapshot(in)->text, composer.Compose(in)->text);
}

TEST(SnapshotComposer, UsesTheBlocksAResultWasSerialisedIn) {
  // A collector hands its cycle's own samples and a cached query's samples as
  // two blocks; together they must read as `families`.
  auto fresh = Member("a", 1);
  core::MetricSet cached_set;
  cached_set.Gauge("pgdr_cached", "From a cached query.", {{"member", "a"}}, 4);
  const auto cached = cached_set.Take();
  auto r = std::make_shared<TargetResult>(*MemberResult("a", 1));
  r->text = {std::make_shared<const SerializedFamilies>(SerializeFamilies(fresh)),
             std::make_shared<const SerializedFamilies>(SerializeFamilies(cached))};
  r->families = fresh;
  r->reused = {std::make_shared<const std::vector<MetricFamily>>(cached)};
  ASSERT_EQ(AllFamilies(*r).size(), fresh.size() + 1);
  SnapshotInputs in;
  in.targets["c/a"] = r;
  in.targets["c/b"] = MemberResult("b", 1);
  in.now = std::chrono::system_clock::now();
  SnapshotComposer composer;
  auto s = composer.Compose(in);
  EXPECT_EQ(composer.serialized_sources(), 1u);  // only b, which came without text
  EXPECT_EQ(s->text, ComposeSnapshot(in)->text);
  size_t series = 0;
  EXPECT_EQ(s->text,
            Reference({AllFamilies(*r), in.targets["c/b"]->families, s->computed}, &series));
  // Without its blocks the same result composes to the same text.
  auto plain = std::make_shared<TargetResult>(*r);
  plain->text.clear();
  in.targets["c/a"] = plain;
  EXPECT_EQ(SnapshotComposer().Compose(in)->text, s->text);
  EXPECT_NE(s->text.find("pgdr_cached{member=\"a\"} 4"), std::string::npos);
}

}  // namespace
}  // namespace pgdr::collect

// Local time-series buffer: the storage the built-in PromQL evaluator reads.
//
// Every collection appends its samples here (AppendScrape); recording rules
// append their results (Append). Each series keeps its samples in a bounded
// buffer of compressed chunks (chunk.h), oldest chunk dropped first, whole
// chunks dropped once past the retention window. When a
// source stops producing a series from one scrape to the next, the series
// gets Prometheus's staleness marker (a NaN with bit pattern
// 0x7ff0000000000002) so that instant queries stop returning it at once
// instead of after the 5m lookback.
//
// The PromQL engine reads through the Storage interface, which other
// in-memory stores (tests) may implement too.
//
// Thread-safety: Tsdb is internally synchronised (a shared mutex): one
// collection thread may append while evaluator threads Select.
#pragma once

#include <prometheus/metric_family.h>
#include <re2/re2.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pgdr/core/mutex.h"
#include "pgdr/core/status.h"
#include "pgdr/tsdb/chunk.h"

namespace pgdr::tsdb {

inline constexpr std::string_view kMetricName = "__name__";

struct Label {
  std::string name;
  std::string value;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
  auto operator<=>(const Label&) const = default;
};
// Sorted by name, names unique. Empty values are never stored.
using Labels = std::vector<Label>;

// Sorts, drops empty values; REQUIRES: names unique.
Labels MakeLabels(std::vector<Label> labels);
// The value of `name`, or "" when absent.
std::string_view GetLabel(const Labels& labels, std::string_view name);
// Sets (or with an empty value deletes) one label, keeping the order.
void SetLabel(Labels& labels, std::string_view name, std::string_view value);
// `name{a="b", c="d"}` as Prometheus prints a series.
std::string LabelsToString(const Labels& labels);
// [a-zA-Z_][a-zA-Z0-9_]*: the label names PromQL, rule files and label_replace accept.
bool IsValidLabelName(std::string_view s);
// `{__name__="x", a="b"}`: Go's labels.Labels.String(), used in messages.
std::string LabelsToGoString(const Labels& labels);
// A byte string equal for equal label sets, for hash maps.
std::string LabelsKey(const Labels& labels);

// Prometheus's staleness marker.
double StaleNaN();
bool IsStaleNaN(double v);

struct Sample {
  int64_t t;  // milliseconds since the epoch
  double v;
};

enum class MatchType { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };

// One label matcher; regexes are fully anchored RE2, as in Prometheus.
class Matcher {
 public:
  static core::Result<Matcher> Make(MatchType type, std::string name, std::string value);
  bool Matches(std::string_view value) const;
  MatchType type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& value() const { return value_; }
  std::string ToString() const;  // name="value", quoted as Prometheus does

 private:
  Matcher(MatchType type, std::string name, std::string value)
      : type_(type), name_(std::move(name)), value_(std::move(value)) {}
  MatchType type_;
  std::string name_;
  std::string value_;
  std::shared_ptr<const RE2> re_;  // shared: matchers are copied freely
};

struct Series {
  Labels labels;
  std::vector<Sample> samples;  // ascending time, stale markers included
};

// What the PromQL engine reads. Implementations must be safe to call from
// several threads at once.
class Storage {
 public:
  virtual ~Storage() = default;
  // Series matching all `matchers` with their samples in [mint, maxt],
  // sorted by labels. Series without samples in the range are omitted.
  virtual std::vector<Series> Select(const std::vector<Matcher>& matchers, int64_t mint,
                                     int64_t maxt) const = 0;
};

struct Options {
  std::chrono::milliseconds retention{std::chrono::hours(1)};  // default 1h
  size_t max_series = 200'000;            // further new series are dropped and counted
  size_t max_samples_per_series = 4'096;  // oldest chunk (1/8 of it, at most 120) dropped first
};

struct Stats {
  size_t series = 0;
  size_t samples = 0;
  size_t bytes = 0;  // heap held by series, their labels, chunks and indexes
  uint64_t dropped_series = 0;
  uint64_t out_of_order_samples = 0;
};

class Tsdb final : public Storage {
 public:
  explicit Tsdb(Options options = {});
  Tsdb(const Tsdb&) = delete;
  Tsdb& operator=(const Tsdb&) = delete;

  // Appends one sample. A sample older than the series' newest is dropped
  // (counted); one at the same time replaces it. Returns false when dropped.
  bool Append(const Labels& labels, int64_t t_ms, double v);

  // Appends every sample of one collection of `source` at `t_ms`; series the
  // same source produced last time and not now get a staleness marker.
  // Histograms become name_bucket{le}, name_sum, name_count; summaries
  // name{quantile}, name_sum, name_count.
  void AppendScrape(std::string_view source, const std::vector<prometheus::MetricFamily>& families,
                    int64_t t_ms);
  // The same for one collection held in several lists (a member's own
  // samples and the cached query results it shares), without merging them.
  void AppendScrapeParts(std::string_view source,
                         std::span<const std::vector<prometheus::MetricFamily>* const> parts,
                         int64_t t_ms);

  // Restricts AppendScrape to the families whose samples some rule can
  // select (`names`: metric names; nullopt, the default: every family).
  // Series of families a new filter drops go stale like any series a source
  // stops sending. Rules' own output (Append) is never filtered.
  void SetScrapeFilter(std::optional<std::set<std::string>> names);

  // Marks every series of `source` stale at `t_ms` (the source went away).
  void MarkSourceStale(std::string_view source, int64_t t_ms);

  std::vector<Series> Select(const std::vector<Matcher>& matchers, int64_t mint,
                             int64_t maxt) const override;

  // Drops samples older than now - retention and series left empty.
  // RuleManager::Tick calls it every minute; call it yourself otherwise.
  void Compact(int64_t now_ms);
  void Clear();
  Stats GetStats() const;

 private:
  struct Buffer {
    Labels labels;
    std::vector<Chunk> chunks;  // oldest first; the last one is open
    ChunkAppender appender;     // the open chunk's encoder
    // The newest sample, kept out of the chunks until a newer one arrives so
    // that a sample at the same time replaces it without re-encoding.
    Sample last{};
    int64_t min_t = INT64_MIN;  // samples before it are past the retention
    uint32_t samples = 0;       // in chunks, plus `last`
    uint32_t mark = 0;          // the scrape that last appended to it
  };
  // The series of `labels` (hash `hash`), created when absent; null when
  // max_series is reached.
  Buffer* FindOrCreateLocked(const Labels& labels, uint64_t hash) PGDR_REQUIRES(mu_);
  bool AppendLocked(Buffer& buffer, int64_t t_ms, double v) PGDR_REQUIRES(mu_);
  void TrimLocked(Buffer& buffer, int64_t now_ms) PGDR_REQUIRES(mu_);

  const Options options_;
  core::Mutex filter_mu_;
  // Family names whose samples a rule can select (for a histogram or summary
  // its base name, derived once here rather than per append); null: all.
  std::shared_ptr<const std::set<std::string, std::less<>>> filter_ PGDR_GUARDED_BY(filter_mu_);
  mutable core::SharedMutex mu_;
  // Series by a hash of their labels (collisions compare the labels); the
  // nodes keep Buffer addresses stable for the indexes below.
  std::unordered_multimap<uint64_t, Buffer> series_ PGDR_GUARDED_BY(mu_);
  std::map<std::string, std::vector<Buffer*>, std::less<>> by_name_ PGDR_GUARDED_BY(mu_);
  // What each source appended last time, to mark what it stops sending.
  std::map<std::string, std::vector<Buffer*>, std::less<>> sources_ PGDR_GUARDED_BY(mu_);
  uint32_t scrape_mark_ PGDR_GUARDED_BY(mu_) = 0;
  const uint16_t chunk_samples_;  // samples per chunk
  size_t samples_ PGDR_GUARDED_BY(mu_) = 0;
  uint64_t dropped_series_ PGDR_GUARDED_BY(mu_) = 0;
  uint64_t out_of_order_ PGDR_GUARDED_BY(mu_) = 0;
};

}  // namespace pgdr::tsdb

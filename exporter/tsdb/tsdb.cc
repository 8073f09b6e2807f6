// The in-memory series store: a bounded list of compressed chunks per series.
#include "pgdr/tsdb/tsdb.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <unordered_set>

namespace pgdr::tsdb {
namespace {

std::string FormatLe(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  // Prefer the shortest form that reads back identically, as Go does.
  for (int precision = 1; precision <= 17; ++precision) {
    char shorter[64];
    std::snprintf(shorter, sizeof(shorter), "%.*g", precision, v);
    if (std::strtod(shorter, nullptr) == v) return shorter;
  }
  return buf;
}

struct Flat {
  Labels labels;
  double value;
};

Labels WithName(const prometheus::ClientMetric& metric, std::string name,
                std::string_view extra_name = {}, std::string extra_value = {}) {
  std::vector<Label> labels;
  labels.reserve(metric.label.size() + 2);
  labels.push_back({std::string(kMetricName), std::move(name)});
  for (const auto& l : metric.label) labels.push_back({l.name, l.value});
  if (!extra_name.empty()) labels.push_back({std::string(extra_name), std::move(extra_value)});
  return MakeLabels(std::move(labels));
}

void Flatten(const prometheus::MetricFamily& family, std::vector<Flat>& out) {
  for (const auto& m : family.metric) {
    switch (family.type) {
      case prometheus::MetricType::Counter:
        out.push_back({WithName(m, family.name), m.counter.value});
        break;
      case prometheus::MetricType::Gauge:
        out.push_back({WithName(m, family.name), m.gauge.value});
        break;
      case prometheus::MetricType::Histogram: {
        for (const auto& b : m.histogram.bucket) {
          out.push_back({WithName(m, family.name + "_bucket", "le", FormatLe(b.upper_bound)),
                         static_cast<double>(b.cumulative_count)});
        }
        bool has_inf =
            !m.histogram.bucket.empty() && std::isinf(m.histogram.bucket.back().upper_bound);
        if (!has_inf) {
          out.push_back({WithName(m, family.name + "_bucket", "le", "+Inf"),
                         static_cast<double>(m.histogram.sample_count)});
        }
        out.push_back({WithName(m, family.name + "_sum"), m.histogram.sample_sum});
        out.push_back(
            {WithName(m, family.name + "_count"), static_cast<double>(m.histogram.sample_count)});
        break;
      }
      case prometheus::MetricType::Summary:
        for (const auto& q : m.summary.quantile) {
          out.push_back({WithName(m, family.name, "quantile", FormatLe(q.quantile)), q.value});
        }
        out.push_back({WithName(m, family.name + "_sum"), m.summary.sample_sum});
        out.push_back(
            {WithName(m, family.name + "_count"), static_cast<double>(m.summary.sample_count)});
        break;
      default:
        out.push_back({WithName(m, family.name), m.untyped.value});
        break;
    }
  }
}

uint64_t HashLabels(const Labels& labels) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a over name 0xff value 0xff ...
  auto mix = [&h](std::string_view s) {
    for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
  };
  for (const Label& l : labels) {
    mix(l.name);
    mix(l.value);
  }
  return h;
}

size_t StringHeap(const std::string& s) {
  return s.capacity() > std::string().capacity() ? s.capacity() + 1 : 0;
}

}  // namespace

Tsdb::Tsdb(Options options)
    : options_(options),
      chunk_samples_(static_cast<uint16_t>(
          std::clamp<size_t>(options.max_samples_per_series / 8, 1, kChunkSamples))) {}

bool Tsdb::Append(const Labels& labels, int64_t t_ms, double v) {
  core::WriterLock lock(mu_);
  Buffer* b = FindOrCreateLocked(labels, HashLabels(labels));
  return b != nullptr && AppendLocked(*b, t_ms, v);
}

Tsdb::Buffer* Tsdb::FindOrCreateLocked(const Labels& labels, uint64_t hash) {
  auto [first, last] = series_.equal_range(hash);
  for (auto it = first; it != last; ++it) {
    if (it->second.labels == labels) return &it->second;
  }
  if (series_.size() >= options_.max_series) {
    ++dropped_series_;
    return nullptr;
  }
  Buffer& b = series_.emplace(hash, Buffer{})->second;
  b.labels = labels;
  b.labels.shrink_to_fit();
  by_name_[std::string(GetLabel(labels, kMetricName))].push_back(&b);
  return &b;
}

bool Tsdb::AppendLocked(Buffer& b, int64_t t_ms, double v) {
  if (b.samples > 0) {
    if (t_ms < b.last.t) {
      ++out_of_order_;
      return false;
    }
    if (t_ms == b.last.t) {
      b.last.v = v;
      return true;
    }
    // The previous newest sample can no longer be replaced: encode it.
    if (b.chunks.empty() || b.chunks.back().samples >= chunk_samples_) {
      if (!b.chunks.empty()) b.chunks.back().Seal();
      b.chunks.emplace_back();
      b.appender = ChunkAppender();
    }
    b.appender.Append(b.chunks.back(), b.last.t, b.last.v);
  }
  b.last = Sample{t_ms, v};
  ++b.samples;
  ++samples_;
  const size_t max = std::max<size_t>(options_.max_samples_per_series, 1);
  while (b.samples > max && !b.chunks.empty()) {
    b.samples -= b.chunks.front().samples;
    samples_ -= b.chunks.front().samples;
    b.chunks.erase(b.chunks.begin());
  }
  TrimLocked(b, t_ms);
  return true;
}

void Tsdb::TrimLocked(Buffer& b, int64_t now_ms) {
  const int64_t min_t = now_ms - options_.retention.count();
  if (min_t <= b.min_t) return;
  b.min_t = min_t;
  if (b.samples > 0 && b.last.t < min_t) {
    samples_ -= b.samples;
    b.samples = 0;
    b.chunks.clear();
    return;
  }
  size_t drop = 0;
  while (drop < b.chunks.size() && b.chunks[drop].max_t < min_t) {
    b.samples -= b.chunks[drop].samples;
    samples_ -= b.chunks[drop].samples;
    ++drop;
  }
  b.chunks.erase(b.chunks.begin(), b.chunks.begin() + static_cast<std::ptrdiff_t>(drop));
}

void Tsdb::AppendScrape(std::string_view source,
                        const std::vector<prometheus::MetricFamily>& families, int64_t t_ms) {
  const std::vector<prometheus::MetricFamily>* part = &families;
  AppendScrapeParts(source, std::span(&part, 1), t_ms);
}

void Tsdb::AppendScrapeParts(std::string_view source,
                             std::span<const std::vector<prometheus::MetricFamily>* const> parts,
                             int64_t t_ms) {
  std::shared_ptr<const std::set<std::string, std::less<>>> filter;
  {
    core::MutexLock lock(filter_mu_);
    filter = filter_;
  }
  std::vector<Flat> flat;
  for (const auto* families : parts) {
    for (const auto& family : *families) {
      if (filter == nullptr || filter->contains(family.name)) Flatten(family, flat);
    }
  }
  std::vector<uint64_t> hashes;
  hashes.reserve(flat.size());
  for (const Flat& f : flat) hashes.push_back(HashLabels(f.labels));
  core::WriterLock lock(mu_);
  auto src = sources_.find(source);
  if (src == sources_.end())
    src = sources_.emplace(std::string(source), std::vector<Buffer*>()).first;
  const uint32_t mark = ++scrape_mark_;
  std::vector<Buffer*> current;
  current.reserve(flat.size());
  for (size_t i = 0; i < flat.size(); ++i) {
    Buffer* b = FindOrCreateLocked(flat[i].labels, hashes[i]);
    if (b == nullptr || !AppendLocked(*b, t_ms, flat[i].value)) continue;
    if (b->mark != mark) current.push_back(b);
    b->mark = mark;
  }
  for (Buffer* b : src->second) {
    if (b->mark != mark) AppendLocked(*b, t_ms, StaleNaN());
  }
  current.shrink_to_fit();
  src->second = std::move(current);
}

void Tsdb::SetScrapeFilter(std::optional<std::set<std::string>> names) {
  std::shared_ptr<const std::set<std::string, std::less<>>> families;
  if (names) {
    std::set<std::string, std::less<>> wanted;
    for (const std::string& name : *names) {
      wanted.insert(name);
      for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
        if (name.ends_with(suffix)) wanted.insert(name.substr(0, name.size() - suffix.size()));
      }
    }
    families = std::make_shared<const std::set<std::string, std::less<>>>(std::move(wanted));
  }
  core::MutexLock lock(filter_mu_);
  filter_ = std::move(families);
}

void Tsdb::MarkSourceStale(std::string_view source, int64_t t_ms) {
  core::WriterLock lock(mu_);
  auto src = sources_.find(source);
  if (src == sources_.end()) return;
  for (Buffer* b : src->second) AppendLocked(*b, t_ms, StaleNaN());
  sources_.erase(src);
}

std::vector<Series> Tsdb::Select(const std::vector<Matcher>& matchers, int64_t mint,
                                 int64_t maxt) const {
  core::ReaderLock lock(mu_);
  std::vector<const Buffer*> candidates;
  const Matcher* name_eq = nullptr;
  for (const Matcher& m : matchers) {
    if (m.name() == kMetricName && m.type() == MatchType::kEqual) name_eq = &m;
  }
  auto consider = [&](const Buffer& b) {
    for (const Matcher& m : matchers) {
      if (!m.Matches(GetLabel(b.labels, m.name()))) return;
    }
    candidates.push_back(&b);
  };
  if (name_eq != nullptr) {
    auto it = by_name_.find(name_eq->value());
    if (it != by_name_.end()) {
      for (const Buffer* b : it->second) consider(*b);
    }
  } else {
    for (const auto& [hash, b] : series_) consider(b);
  }
  std::vector<Series> out;
  for (const Buffer* b : candidates) {
    const int64_t lo = std::max(mint, b->min_t);
    if (b->samples == 0 || b->last.t < lo) {
      continue;
    }
    Series s;
    for (const Chunk& c : b->chunks) {
      if (c.max_t < lo) continue;
      if (c.min_t > maxt) break;
      ChunkIterator it(c);
      while (it.Next()) {
        if (it.t() > maxt) break;
        if (it.t() >= lo) s.samples.push_back(Sample{it.t(), it.v()});
      }
    }
    if (b->last.t <= maxt) s.samples.push_back(b->last);
    if (s.samples.empty()) continue;
    s.labels = b->labels;
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(),
            [](const Series& a, const Series& b) { return a.labels < b.labels; });
  return out;
}

void Tsdb::Compact(int64_t now_ms) {
  core::WriterLock lock(mu_);
  std::unordered_set<const Buffer*> erased;
  for (auto it = series_.begin(); it != series_.end();) {
    Buffer& b = it->second;
    TrimLocked(b, now_ms);
    if (b.samples > 0) {
      ++it;
      continue;
    }
    auto name = by_name_.find(GetLabel(b.labels, kMetricName));
    if (name != by_name_.end()) {
      std::erase(name->second, &b);
      if (name->second.empty()) by_name_.erase(name);
    }
    erased.insert(&b);
    it = series_.erase(it);
  }
  if (erased.empty()) return;
  for (auto& [source, buffers] : sources_) {
    std::erase_if(buffers, [&erased](const Buffer* b) { return erased.contains(b); });
  }
}

void Tsdb::Clear() {
  core::WriterLock lock(mu_);
  series_.clear();
  by_name_.clear();
  sources_.clear();
  samples_ = 0;
}

Stats Tsdb::GetStats() const {
  core::ReaderLock lock(mu_);
  Stats stats;
  stats.series = series_.size();
  stats.samples = samples_;
  stats.dropped_series = dropped_series_;
  stats.out_of_order_samples = out_of_order_;
  // Heap: a node per series (its hash, the Buffer, the next pointer and the
  // allocator's header), the hash table's buckets, the labels and chunks.
  constexpr size_t kNode = sizeof(void*) * 2 + sizeof(uint64_t) + sizeof(Buffer);
  stats.bytes += series_.size() * kNode + series_.bucket_count() * sizeof(void*);
  for (const auto& [hash, b] : series_) {
    stats.bytes += b.labels.capacity() * sizeof(Label);
    for (const Label& l : b.labels) stats.bytes += StringHeap(l.name) + StringHeap(l.value);
    stats.bytes += b.chunks.capacity() * sizeof(Chunk);
    for (const Chunk& c : b.chunks) stats.bytes += c.capacity;
  }
  // An index entry: a map node (links, colour, key, vector, allocator
  // header) and a pointer per series.
  constexpr size_t kMapNode = 3 * sizeof(void*) + 8 + sizeof(std::string) +
                              sizeof(std::vector<Buffer*>) + 2 * sizeof(void*);
  for (const auto& [name, buffers] : by_name_) {
    stats.bytes += kMapNode + StringHeap(name) + buffers.capacity() * sizeof(void*);
  }
  for (const auto& [source, buffers] : sources_) {
    stats.bytes += kMapNode + StringHeap(source) + buffers.capacity() * sizeof(void*);
  }
  return stats;
}

}  // namespace pgdr::tsdb

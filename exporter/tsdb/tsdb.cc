// The in-memory series store: a fixed-size ring of samples per series.
#include "pgdr/tsdb/tsdb.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>

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

}  // namespace

Tsdb::Tsdb(Options options) : options_(options) {}

bool Tsdb::Append(const Labels& labels, int64_t t_ms, double v) {
  core::WriterLock lock(mu_);
  bool ok = AppendLocked(labels, LabelsKey(labels), t_ms, v);
  return ok;
}

bool Tsdb::AppendLocked(const Labels& labels, const std::string& key, int64_t t_ms, double v) {
  auto it = series_.find(key);
  if (it == series_.end()) {
    if (series_.size() >= options_.max_series) {
      ++dropped_series_;
      return false;
    }
    Buffer buffer;
    buffer.labels = labels;
    it = series_.emplace(key, std::move(buffer)).first;
    by_name_[std::string(GetLabel(labels, kMetricName))].insert(&it->second);
  }
  Buffer& b = it->second;
  if (!b.samples.empty()) {
    Sample& last = b.samples.back();
    if (t_ms < last.t) {
      ++out_of_order_;
      return false;
    }
    if (t_ms == last.t) {
      last.v = v;
      return true;
    }
  }
  if (b.samples.size() >= std::max<size_t>(options_.max_samples_per_series, 1)) {
    b.samples.pop_front();
    --samples_;
  }
  b.samples.push_back(Sample{t_ms, v});
  ++samples_;
  TrimLocked(b, t_ms);
  return true;
}

void Tsdb::TrimLocked(Buffer& b, int64_t now_ms) {
  const int64_t min_t = now_ms - options_.retention.count();
  while (!b.samples.empty() && b.samples.front().t < min_t) {
    b.samples.pop_front();
    --samples_;
  }
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
  core::WriterLock lock(mu_);
  auto& previous = sources_[std::string(source)];
  std::unordered_set<std::string> current;
  current.reserve(flat.size());
  for (const Flat& f : flat) {
    std::string key = LabelsKey(f.labels);
    if (AppendLocked(f.labels, key, t_ms, f.value)) current.insert(std::move(key));
  }
  for (const std::string& key : previous) {
    if (current.contains(key)) continue;
    auto it = series_.find(key);
    if (it != series_.end()) AppendLocked(it->second.labels, key, t_ms, StaleNaN());
  }
  previous = std::move(current);
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
  for (const std::string& key : src->second) {
    auto it = series_.find(key);
    if (it != series_.end()) AppendLocked(it->second.labels, key, t_ms, StaleNaN());
  }
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
    for (const auto& [key, b] : series_) consider(b);
  }
  std::vector<Series> out;
  for (const Buffer* b : candidates) {
    Series s;
    auto first = std::lower_bound(b->samples.begin(), b->samples.end(), mint,
                                  [](const Sample& x, int64_t t) { return x.t < t; });
    for (auto sample = first; sample != b->samples.end() && sample->t <= maxt; ++sample) {
      s.samples.push_back(*sample);
    }
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
  for (auto it = series_.begin(); it != series_.end();) {
    TrimLocked(it->second, now_ms);
    if (it->second.samples.empty()) {
      auto name = by_name_.find(GetLabel(it->second.labels, kMetricName));
      if (name != by_name_.end()) {
        name->second.erase(&it->second);
        if (name->second.empty()) by_name_.erase(name);
      }
      it = series_.erase(it);
    } else {
      ++it;
    }
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
  for (const auto& [key, b] : series_) {
    stats.bytes += sizeof(Buffer) + 2 * key.size() + b.samples.size() * sizeof(Sample);
    for (const Label& l : b.labels) stats.bytes += sizeof(Label) + l.name.size() + l.value.size();
  }
  return stats;
}

}  // namespace pgdr::tsdb

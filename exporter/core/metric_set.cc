#include "pgdr/core/metric_set.h"

#include <algorithm>
#include <iterator>
#include <set>

namespace pgdr::core {

prometheus::MetricFamily* MetricSet::Family(std::string_view name, std::string_view help,
                                            prometheus::MetricType type) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    prometheus::MetricFamily family;
    family.name = std::string(name);
    family.help = std::string(help);
    family.type = type;
    it = families_.emplace(family.name, std::move(family)).first;
  } else if (it->second.type != type) {
    return nullptr;
  }
  return &it->second;
}

bool MetricSet::Add(std::string_view name, std::string_view help, prometheus::MetricType type,
                    Labels labels, double value) {
  prometheus::MetricFamily* family = Family(name, help, type);
  if (family == nullptr) return false;
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  switch (type) {
    case prometheus::MetricType::Counter:
      metric.counter.value = value;
      break;
    case prometheus::MetricType::Gauge:
      metric.gauge.value = value;
      break;
    default:
      metric.untyped.value = value;
      break;
  }
  family->metric.push_back(std::move(metric));
  return true;
}

bool MetricSet::Histogram(std::string_view name, std::string_view help, Labels labels,
                          prometheus::ClientMetric::Histogram histogram) {
  prometheus::MetricFamily* family = Family(name, help, prometheus::MetricType::Histogram);
  if (family == nullptr) return false;
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  metric.histogram = std::move(histogram);
  family->metric.push_back(std::move(metric));
  return true;
}

void MetricSet::Merge(const std::vector<prometheus::MetricFamily>& other) {
  for (const auto& f : other) {
    prometheus::MetricFamily* family = Family(f.name, f.help, f.type);
    if (family == nullptr) continue;
    family->metric.insert(family->metric.end(), f.metric.begin(), f.metric.end());
  }
}

void MetricSet::Merge(std::vector<prometheus::MetricFamily>&& other) {
  for (auto& f : other) {
    prometheus::MetricFamily* family = Family(f.name, f.help, f.type);
    if (family == nullptr) continue;
    if (family->metric.empty()) {
      family->metric = std::move(f.metric);
    } else {
      family->metric.insert(family->metric.end(), std::make_move_iterator(f.metric.begin()),
                            std::make_move_iterator(f.metric.end()));
    }
  }
  other.clear();
}

size_t MetricSet::series() const {
  size_t n = 0;
  for (const auto& [name, family] : families_) n += family.metric.size();
  return n;
}

std::vector<prometheus::MetricFamily> MetricSet::Take() {
  std::vector<prometheus::MetricFamily> out;
  out.reserve(families_.size());
  for (auto& [name, family] : families_) out.push_back(std::move(family));
  families_.clear();
  return out;
}

double SampleValue(const prometheus::MetricFamily& family, const prometheus::ClientMetric& metric) {
  switch (family.type) {
    case prometheus::MetricType::Counter:
      return metric.counter.value;
    case prometheus::MetricType::Gauge:
      return metric.gauge.value;
    default:
      return metric.untyped.value;
  }
}

}  // namespace pgdr::core

namespace pgdr::core {

size_t DropDuplicateSeries(std::vector<prometheus::MetricFamily>& families) {
  size_t dropped = 0;
  std::set<std::vector<Label>> seen;
  for (auto& family : families) {
    seen.clear();
    auto& metrics = family.metric;
    const auto end = std::remove_if(metrics.begin(), metrics.end(), [&](const auto& m) {
      std::vector<Label> key = m.label;
      std::sort(key.begin(), key.end());
      return !seen.insert(std::move(key)).second;
    });
    dropped += static_cast<size_t>(metrics.end() - end);
    metrics.erase(end, metrics.end());
  }
  return dropped;
}

}  // namespace pgdr::core

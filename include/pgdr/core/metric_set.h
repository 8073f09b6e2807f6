// MetricSet: an append-only builder of Prometheus metric families.
//
// Collectors (SQL, computed, object-store) produce their samples into a
// MetricSet; the snapshot composer merges sets and the text serializer of
// prometheus-cpp writes them out. Families are keyed by name, so samples of
// one family stay grouped however many producers add to it.
//
// Thread-safety: none; a MetricSet belongs to one producer at a time.
#pragma once

#include <prometheus/metric_family.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace pgdr::core {

using Label = prometheus::ClientMetric::Label;
using Labels = std::vector<Label>;

class MetricSet {
 public:
  // Adds one sample. The first call for a name fixes its help and type; a
  // later call with another type is refused (returns false) so that two
  // producers can never emit one name with two types.
  bool Add(std::string_view name, std::string_view help, prometheus::MetricType type, Labels labels,
           double value);
  bool Gauge(std::string_view name, std::string_view help, Labels labels, double value) {
    return Add(name, help, prometheus::MetricType::Gauge, std::move(labels), value);
  }
  bool Counter(std::string_view name, std::string_view help, Labels labels, double value) {
    return Add(name, help, prometheus::MetricType::Counter, std::move(labels), value);
  }
  // Adds a prepared histogram sample (cumulative buckets, sum, count).
  bool Histogram(std::string_view name, std::string_view help, Labels labels,
                 prometheus::ClientMetric::Histogram histogram);

  // Appends every family of `other` (used to merge producers).
  void Merge(const std::vector<prometheus::MetricFamily>& other);
  void Merge(std::vector<prometheus::MetricFamily>&& other);  // moves the samples

  bool empty() const { return families_.empty(); }
  size_t series() const;
  const std::map<std::string, prometheus::MetricFamily, std::less<>>& families() const {
    return families_;
  }
  std::vector<prometheus::MetricFamily> Take();

 private:
  prometheus::MetricFamily* Family(std::string_view name, std::string_view help,
                                   prometheus::MetricType type);
  std::map<std::string, prometheus::MetricFamily, std::less<>> families_;
};

// The value of one sample whatever its family's type (gauge, counter, untyped).
double SampleValue(const prometheus::MetricFamily& family, const prometheus::ClientMetric& metric);

}  // namespace pgdr::core

namespace pgdr::core {

// Drops, within each family, every series whose label set repeats an earlier
// one (user queries can produce them). Returns how many were dropped.
size_t DropDuplicateSeries(std::vector<prometheus::MetricFamily>& families);

}  // namespace pgdr::core

#include "pgdr/collect/exposition.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>

#include "pgdr/core/metric_set.h"

namespace pgdr::collect {
namespace {

const char* TypeName(prometheus::MetricType type) {
  switch (type) {
    case prometheus::MetricType::Counter:
      return "counter";
    case prometheus::MetricType::Gauge:
      return "gauge";
    case prometheus::MetricType::Summary:
      return "summary";
    case prometheus::MetricType::Untyped:
      return "untyped";
    case prometheus::MetricType::Histogram:
      return "histogram";
  }
  return "untyped";
}

// The header as TextSerializer writes it (HELP only when there is help,
// written as is). SerializeFamilies checks it against the serializer's own
// output and falls back to the serializer if they ever differ.
SerializedFamily Describe(const prometheus::MetricFamily& family) {
  SerializedFamily out;
  out.name = family.name;
  out.type = family.type;
  if (!family.help.empty()) {
    out.header.reserve(family.name.size() * 2 + family.help.size() + 24);
    out.header += "# HELP ";
    out.header += family.name;
    out.header += ' ';
    out.header += family.help;
    out.header += '\n';
  }
  out.header += "# TYPE ";
  out.header += family.name;
  out.header += ' ';
  out.header += TypeName(family.type);
  out.header += '\n';
  out.series = family.metric.size();
  return out;
}

// TextSerializer's sample line for counters, gauges and untyped samples,
// written straight into a string: the serializer's ostream (locale, sentry
// and num_put per value) was most of a cycle's serialisation cost. Values as
// it writes them: "%.16g" (precision max_digits10 - 1), "Nan", "+Inf", "-Inf".
void AppendValue(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "Nan";
  } else if (std::isinf(value)) {
    out += value < 0 ? "-Inf" : "+Inf";
  } else {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::general,
                                 std::numeric_limits<double>::max_digits10 - 1);
    out.append(buf, r.ptr);
  }
}

void AppendSample(std::string& out, const prometheus::MetricFamily& family,
                  const prometheus::ClientMetric& metric, double value) {
  out += family.name;
  if (!metric.label.empty()) {
    out += '{';
    bool first = true;
    for (const auto& l : metric.label) {
      if (!first) out += ',';
      first = false;
      out += l.name;
      out += "=\"";
      for (char c : l.value) {
        switch (c) {
          case '\n':
            out += "\\n";
            break;
          case '\\':
            out += "\\\\";
            break;
          case '"':
            out += "\\\"";
            break;
          default:
            out += c;
        }
      }
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  AppendValue(out, value);
  if (metric.timestamp_ms != 0) {
    out += ' ';
    out += std::to_string(metric.timestamp_ms);
  }
  out += '\n';
}

}  // namespace

SerializedFamilies SerializeFamilies(const std::vector<prometheus::MetricFamily>& families) {
  const prometheus::TextSerializer serializer;
  SerializedFamilies out;
  out.reserve(families.size());
  for (const auto& f : families) {
    SerializedFamily& text = out.emplace_back(Describe(f));
    switch (f.type) {
      case prometheus::MetricType::Counter:
      case prometheus::MetricType::Gauge:
      case prometheus::MetricType::Untyped:
        for (const auto& m : f.metric) AppendSample(text.samples, f, m, core::SampleValue(f, m));
        continue;
      default:
        break;
    }
    // Histograms and summaries (a few per member): the serializer itself.
    const std::string full = serializer.Serialize({f});
    if (full.compare(0, text.header.size(), text.header) != 0) {
      prometheus::MetricFamily head;
      head.name = f.name;
      head.help = f.help;
      head.type = f.type;
      text.header = serializer.Serialize({head});
    }
    text.samples = full.substr(std::min(text.header.size(), full.size()));
  }
  return out;
}

std::string AssembleExposition(const std::vector<const SerializedFamilies*>& sources,
                               size_t* series) {
  struct Group {
    const SerializedFamily* first = nullptr;
    std::vector<const SerializedFamily*> parts;
  };
  std::map<std::string_view, Group> groups;
  for (const SerializedFamilies* source : sources) {
    for (const SerializedFamily& f : *source) {
      Group& g = groups[f.name];
      if (g.first == nullptr) g.first = &f;
      if (f.type == g.first->type) g.parts.push_back(&f);
    }
  }
  size_t bytes = 0;
  size_t count = 0;
  for (const auto& [name, g] : groups) {
    bytes += g.first->header.size();
    for (const SerializedFamily* f : g.parts) {
      bytes += f->samples.size();
      count += f->series;
    }
  }
  std::string text;
  text.reserve(bytes);
  for (const auto& [name, g] : groups) {
    text += g.first->header;
    for (const SerializedFamily* f : g.parts) text += f->samples;
  }
  if (series != nullptr) *series = count;
  return text;
}

const SerializedFamilies& ExpositionCache::Get(
    const std::shared_ptr<const void>& owner,
    const std::vector<prometheus::MetricFamily>& families) {
  const void* key = owner.get();
  if (auto it = current_.find(key); it != current_.end()) return it->second.text;
  if (auto it = previous_.find(key); it != previous_.end()) {
    auto node = previous_.extract(it);
    return current_.insert(std::move(node)).position->second.text;
  }
  ++serialized_;
  return current_.emplace(key, Entry{owner, SerializeFamilies(families)}).first->second.text;
}

void ExpositionCache::EndRound() {
  previous_ = std::move(current_);
  current_.clear();
}

}  // namespace pgdr::collect

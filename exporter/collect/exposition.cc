#include "pgdr/collect/exposition.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string_view>

#include "pgdr/core/metric_set.h"

namespace pgdr::collect {
namespace {

// The header as TextSerializer writes it (HELP only when there is help,
// written as is), into `out` whose buffers are reused. SerializeFamilies
// checks it against the serializer's own output and falls back to the
// serializer if they ever differ.
void Describe(const prometheus::MetricFamily& family, SerializedFamily& out) {
  out.name.assign(family.name);
  out.type = family.type;
  out.header.clear();
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
  out.header += MetricTypeName(family.type);
  out.header += '\n';
  out.samples.clear();
  out.series = family.metric.size();
  out.hidden = false;
}

template <typename Int>
void AppendInteger(std::string& out, Int value) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, r.ptr);
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
      AppendLabelValue(out, l.value);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  AppendSampleValue(out, value);
  if (metric.timestamp_ms != 0) {
    out += ' ';
    out += std::to_string(metric.timestamp_ms);
  }
  out += '\n';
}

// A histogram's lines as TextSerializer writes them: _count, _sum, one
// _bucket per bound (le last among the labels) and a +Inf bucket when the
// last bound is not +Inf.
void AppendHistogram(std::string& out, const prometheus::MetricFamily& family,
                     const prometheus::ClientMetric& metric) {
  const auto head = [&](std::string_view suffix, const double* le) {
    out += family.name;
    out += suffix;
    bool first = true;
    for (const auto& l : metric.label) AppendLabelPair(out, first, l.name, l.value);
    if (le != nullptr) {
      out += first ? "{le=\"" : ",le=\"";
      first = false;
      AppendSampleValue(out, *le);
      out += '"';
    }
    if (!first) out += '}';
    out += ' ';
  };
  const auto tail = [&] {
    if (metric.timestamp_ms != 0) {
      out += ' ';
      AppendInteger(out, metric.timestamp_ms);
    }
    out += '\n';
  };
  const auto& h = metric.histogram;
  head("_count", nullptr);
  AppendInteger(out, h.sample_count);
  tail();
  head("_sum", nullptr);
  AppendSampleValue(out, h.sample_sum);
  tail();
  double last = -std::numeric_limits<double>::infinity();
  for (const auto& b : h.bucket) {
    head("_bucket", &b.upper_bound);
    last = b.upper_bound;
    AppendInteger(out, b.cumulative_count);
    tail();
  }
  if (last != std::numeric_limits<double>::infinity()) {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    head("_bucket", &kInf);
    AppendInteger(out, h.sample_count);
    tail();
  }
}

// Parses one label set "{a=\"x\",b=\"y\"}" starting at `p`; returns past it.
const char* ParseLabels(const char* p, const char* end, core::Labels& labels) {
  ++p;  // '{'
  while (p < end && *p != '}') {
    const char* eq = std::find(p, end, '=');
    core::Label l;
    l.name.assign(p, eq);
    p = eq + 2;  // '="'
    while (p < end && *p != '"') {
      if (*p == '\\' && p + 1 < end) {
        ++p;
        l.value += *p == 'n' ? '\n' : *p;
      } else {
        l.value += *p;
      }
      ++p;
    }
    ++p;  // '"'
    if (p < end && *p == ',') ++p;
    labels.push_back(std::move(l));
  }
  return p + 1;
}

double ParseValue(std::string_view text) {
  if (text == "Nan") return std::numeric_limits<double>::quiet_NaN();
  if (text == "+Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  return std::strtod(std::string(text).c_str(), nullptr);
}

}  // namespace

// TextSerializer's values: "%.16g" (precision max_digits10 - 1), "Nan", "+Inf",
// "-Inf", written with to_chars (the serializer's ostream per value, locale,
// sentry and num_put, was most of a cycle's serialisation cost).
void AppendSampleValue(std::string& out, double value) {
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

void AppendLabelValue(std::string& out, std::string_view value) {
  for (char c : value) {
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
}

void AppendLabelPair(std::string& out, bool& first, std::string_view name, std::string_view value) {
  out += first ? '{' : ',';
  first = false;
  out += name;
  out += "=\"";
  AppendLabelValue(out, value);
  out += '"';
}

const char* MetricTypeName(prometheus::MetricType type) {
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

std::vector<prometheus::MetricFamily> FamiliesFromText(const SerializedFamilies& text) {
  std::vector<prometheus::MetricFamily> out;
  for (const SerializedFamily& f : text) {
    if (f.hidden) continue;
    if (f.type != prometheus::MetricType::Counter && f.type != prometheus::MetricType::Gauge &&
        f.type != prometheus::MetricType::Untyped) {
      continue;
    }
    prometheus::MetricFamily& family = out.emplace_back();
    family.name = f.name;
    family.type = f.type;
    const std::string help_prefix = "# HELP " + f.name + " ";
    if (f.header.compare(0, help_prefix.size(), help_prefix) == 0) {
      family.help = f.header.substr(help_prefix.size(), f.header.find('\n') - help_prefix.size());
    }
    family.metric.reserve(f.series);
    const char* p = f.samples.data();
    const char* const end = p + f.samples.size();
    while (p < end) {
      const char* eol = std::find(p, end, '\n');
      prometheus::ClientMetric m;
      p += f.name.size();
      if (*p == '{') p = ParseLabels(p, eol, m.label);
      ++p;                                             // ' '
      const char* value_end = std::find(p, eol, ' ');  // a timestamp may follow
      const double v = ParseValue(std::string_view(p, static_cast<size_t>(value_end - p)));
      if (value_end < eol) m.timestamp_ms = std::strtoll(value_end + 1, nullptr, 10);
      switch (f.type) {
        case prometheus::MetricType::Counter:
          m.counter.value = v;
          break;
        case prometheus::MetricType::Gauge:
          m.gauge.value = v;
          break;
        default:
          m.untyped.value = v;
          break;
      }
      family.metric.push_back(std::move(m));
      p = eol + 1;
    }
  }
  return out;
}

SerializedFamilies SerializeFamilies(const std::vector<prometheus::MetricFamily>& families) {
  SerializedFamilies out;
  SerializeFamiliesInto(families, out);
  return out;
}

void SerializeFamiliesInto(const std::vector<prometheus::MetricFamily>& families,
                           SerializedFamilies& out) {
  out.resize(families.size());
  for (size_t i = 0; i < families.size(); ++i) {
    const prometheus::MetricFamily& f = families[i];
    SerializedFamily& text = out[i];
    Describe(f, text);
    switch (f.type) {
      case prometheus::MetricType::Counter:
      case prometheus::MetricType::Gauge:
      case prometheus::MetricType::Untyped:
        for (const auto& m : f.metric) AppendSample(text.samples, f, m, core::SampleValue(f, m));
        continue;
      case prometheus::MetricType::Histogram:
        for (const auto& m : f.metric) AppendHistogram(text.samples, f, m);
        continue;
      default:
        break;
    }
    // Summaries (none of pgdr's own): the serializer itself.
    const prometheus::TextSerializer serializer;
    const std::string full = serializer.Serialize({f});
    if (full.compare(0, text.header.size(), text.header) != 0) {
      prometheus::MetricFamily head;
      head.name = f.name;
      head.help = f.help;
      head.type = f.type;
      text.header = serializer.Serialize({head});
    }
    text.samples.assign(full, std::min(text.header.size(), full.size()));
  }
}

std::string AssembleExposition(const std::vector<const SerializedFamilies*>& sources,
                               size_t* series) {
  ExpositionAssembler assembler;
  return assembler.Assemble(sources, series);
}

std::string ExpositionAssembler::Assemble(const std::vector<const SerializedFamilies*>& sources,
                                          size_t* series) {
  // Every family by name, in source order within a name: the first of a name
  // fixes its header and type; those of another type are left out.
  parts_.clear();
  for (const SerializedFamilies* source : sources) {
    for (const SerializedFamily& f : *source) {
      if (!f.hidden) parts_.push_back({&f, parts_.size()});
    }
  }
  std::sort(parts_.begin(), parts_.end(), [](const Part& a, const Part& b) {
    const int c = std::string_view(a.family->name).compare(b.family->name);
    return c != 0 ? c < 0 : a.order < b.order;
  });
  const auto write = [this](auto&& header, auto&& part) {
    const SerializedFamily* first = nullptr;
    for (const Part& p : parts_) {
      if (first == nullptr || p.family->name != first->name) {
        first = p.family;
        header(*first);
      }
      if (p.family->type == first->type) part(*p.family);
    }
  };
  size_t bytes = 0;
  size_t count = 0;
  write([&bytes](const SerializedFamily& f) { bytes += f.header.size(); },
        [&bytes, &count](const SerializedFamily& f) {
          bytes += f.samples.size();
          count += f.series;
        });
  std::string text;
  text.reserve(bytes);
  write([&text](const SerializedFamily& f) { text += f.header; },
        [&text](const SerializedFamily& f) { text += f.samples; });
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

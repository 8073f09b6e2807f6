#include "pgdr/exposition.h"

#include <prometheus/text_serializer.h>

#include <string_view>

namespace pgdr {
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

}  // namespace

SerializedFamilies SerializeFamilies(const std::vector<prometheus::MetricFamily>& families) {
  const prometheus::TextSerializer serializer;
  SerializedFamilies out;
  out.reserve(families.size());
  for (const auto& f : families) out.push_back(Describe(f));
  // One pass over all families, then cut at the headers: sample lines never
  // start with '#' (a metric name does), and label values cannot hold a raw
  // newline (the serializer escapes it).
  const std::string full = serializer.Serialize(families);
  size_t pos = 0;
  bool split = true;
  for (size_t i = 0; i < out.size() && split; ++i) {
    if (full.compare(pos, out[i].header.size(), out[i].header) != 0) {
      split = false;
      break;
    }
    const size_t begin = pos + out[i].header.size();
    size_t end = full.size();
    if (i + 1 < out.size()) {
      end = begin;
      while (end < full.size() && full[end] != '#') {
        const size_t nl = full.find('\n', end);
        end = nl == std::string::npos ? full.size() : nl + 1;
      }
    }
    out[i].samples = full.substr(begin, end - begin);
    pos = end;
  }
  if (!split || pos != full.size()) {
    // Not the layout expected of this serializer: serialise family by family.
    for (size_t i = 0; i < out.size(); ++i) {
      prometheus::MetricFamily head;
      head.name = families[i].name;
      head.help = families[i].help;
      head.type = families[i].type;
      out[i].header = serializer.Serialize({head});
      out[i].samples = serializer.Serialize({families[i]}).substr(out[i].header.size());
    }
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

}  // namespace pgdr

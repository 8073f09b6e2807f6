#include "collect/text_block.h"

namespace pgdr::collect {
namespace {

const char* TypeName(prometheus::MetricType type) {
  switch (type) {
    case prometheus::MetricType::Counter:
      return "counter";
    case prometheus::MetricType::Gauge:
      return "gauge";
    default:
      return "untyped";
  }
}

void AppendLabel(std::string& out, bool& first, std::string_view name, std::string_view value) {
  out += first ? '{' : ',';
  first = false;
  out += name;
  out += "=\"";
  AppendLabelValue(out, value);
  out += '"';
}

}  // namespace

TextBlockBuilder::~TextBlockBuilder() { out_.resize(used_); }

void TextBlockBuilder::Family(std::string_view name, std::string_view help,
                              prometheus::MetricType type) {
  if (used_ == out_.size()) out_.emplace_back();
  SerializedFamily& f = out_[used_++];
  f.name.assign(name);
  f.type = type;
  f.header.clear();
  if (!help.empty()) {
    f.header += "# HELP ";
    f.header += name;
    f.header += ' ';
    f.header += help;
    f.header += '\n';
  }
  f.header += "# TYPE ";
  f.header += name;
  f.header += ' ';
  f.header += TypeName(type);
  f.header += '\n';
  f.samples.clear();
  f.series = 0;
  f.hidden = true;  // until its first sample
}

void TextBlockBuilder::Sample(const core::Labels& labels, Extra extra, double value) {
  SerializedFamily& f = out_[used_ - 1];
  std::string& s = f.samples;
  s += f.name;
  bool first = true;
  for (const auto& l : labels) AppendLabel(s, first, l.name, l.value);
  for (const auto& [name, v] : extra) AppendLabel(s, first, name, v);
  if (!first) s += '}';
  s += ' ';
  AppendSampleValue(s, value);
  s += '\n';
  ++f.series;
  f.hidden = false;
}

}  // namespace pgdr::collect

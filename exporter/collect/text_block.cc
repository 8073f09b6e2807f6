#include "collect/text_block.h"

namespace pgdr::collect {

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
  f.header += MetricTypeName(type);
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
  for (const auto& l : labels) AppendLabelPair(s, first, l.name, l.value);
  for (const auto& [name, v] : extra) AppendLabelPair(s, first, name, v);
  if (!first) s += '}';
  s += ' ';
  AppendSampleValue(s, value);
  s += '\n';
  ++f.series;
  f.hidden = false;
}

}  // namespace pgdr::collect

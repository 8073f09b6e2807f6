// Label sets, matchers and the staleness marker.
#include <algorithm>
#include <bit>
#include <cstdio>

#include "pgdr/core/strings.h"
#include "pgdr/tsdb/tsdb.h"

namespace pgdr::tsdb {
namespace {

constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;

}  // namespace

bool IsValidLabelName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

Labels MakeLabels(std::vector<Label> labels) {
  std::erase_if(labels, [](const Label& l) { return l.value.empty(); });
  std::sort(labels.begin(), labels.end());
  return labels;
}

std::string_view GetLabel(const Labels& labels, std::string_view name) {
  for (const Label& l : labels) {
    if (l.name == name) return l.value;
  }
  return {};
}

void SetLabel(Labels& labels, std::string_view name, std::string_view value) {
  auto it = std::lower_bound(labels.begin(), labels.end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  if (it != labels.end() && it->name == name) {
    if (value.empty()) {
      labels.erase(it);
    } else {
      it->value = std::string(value);
    }
  } else if (!value.empty()) {
    labels.insert(it, Label{std::string(name), std::string(value)});
  }
}

std::string LabelsToString(const Labels& labels) {
  std::string out(GetLabel(labels, kMetricName));
  bool first = true;
  std::string inner;
  for (const Label& l : labels) {
    if (l.name == kMetricName) continue;
    if (!first) inner += ", ";
    first = false;
    inner += l.name + "=" + core::Quoted(l.value);
  }
  if (!inner.empty() || out.empty()) out += "{" + inner + "}";
  return out;
}

std::string LabelsToGoString(const Labels& labels) {
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ", ";
    out += labels[i].name + "=" + core::Quoted(labels[i].value);
  }
  return out + "}";
}

std::string LabelsKey(const Labels& labels) {
  std::string key;
  for (const Label& l : labels) {
    key += l.name;
    key += '\xff';
    key += l.value;
    key += '\xff';
  }
  return key;
}

double StaleNaN() { return std::bit_cast<double>(kStaleNaNBits); }
bool IsStaleNaN(double v) { return std::bit_cast<uint64_t>(v) == kStaleNaNBits; }

core::Result<Matcher> Matcher::Make(MatchType type, std::string name, std::string value) {
  Matcher m(type, std::move(name), std::move(value));
  if (type == MatchType::kRegexMatch || type == MatchType::kRegexNoMatch) {
    RE2::Options opts;
    opts.set_log_errors(false);
    auto re = std::make_shared<const RE2>("^(?:" + m.value_ + ")$", opts);
    if (!re->ok()) {
      return core::Status::InvalidArgument("error parsing regexp: " + re->error());
    }
    m.re_ = std::move(re);
  }
  return m;
}

bool Matcher::Matches(std::string_view value) const {
  switch (type_) {
    case MatchType::kEqual:
      return value == value_;
    case MatchType::kNotEqual:
      return value != value_;
    case MatchType::kRegexMatch:
      return RE2::FullMatch(value, *re_);
    case MatchType::kRegexNoMatch:
      return !RE2::FullMatch(value, *re_);
  }
  return false;
}

std::string Matcher::ToString() const {
  static constexpr std::string_view kOps[] = {"=", "!=", "=~", "!~"};
  return name_ + std::string(kOps[static_cast<int>(type_)]) + core::Quoted(value_);
}

}  // namespace pgdr::tsdb

// Alert templates: the subset of Go text/template that Prometheus rule
// labels and annotations use.
//
// Supported: text, {{ }} actions with {{- -}} trimming, pipelines with `|`,
// variables ($labels, $value, $externalLabels, $externalURL, and
// {{ $x := ... }}), field access (.Labels.job, $labels.job), string and
// number literals, parentheses, {{ if }} / {{ else if }} / {{ else }} /
// {{ end }}, and the functions humanize, humanize1024, humanizeDuration,
// humanizePercentage, humanizeTimestamp, printf, title, toUpper, toLower,
// reReplaceAll, match, eq, ne, lt, le, gt, ge, and, or, not, len, index.
// Anything else is a parse error naming it.
//
// Thread-safety: a parsed Template is immutable and may be expanded from
// several threads.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "pgdr/core/status.h"

namespace pgdr::rules {

struct TemplateData {
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> external_labels;
  std::string external_url;
  double value = 0;
};

class Template {
 public:
  // `name` appears in errors as Go does: "template: NAME:LINE: msg".
  static core::Result<Template> Parse(std::string_view name, std::string_view text);
  core::Result<std::string> Expand(const TemplateData& data) const;

  struct Node;  // template.cc

 private:
  std::string name_;
  std::shared_ptr<const Node> root_;
};

// Parses and expands; on error returns "<error expanding template: ...>" as
// Prometheus does for alert labels and annotations.
std::string ExpandAlertTemplate(std::string_view name, std::string_view text,
                                const TemplateData& data);

// Go's fmt "%.4g" (used by humanize*): "1.235e+07", "+Inf", "NaN".
std::string FormatG4(double v);

}  // namespace pgdr::rules

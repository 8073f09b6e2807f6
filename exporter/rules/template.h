// Alert templates: Go's text/template as Prometheus 2.42 runs it for rule
// labels and annotations, with Prometheus's template functions.
//
// Every action (if/else if/else, with, range with $i, $v :=, break,
// continue, define/template/block, := and =, pipelines, comments, trim
// markers) and every builtin of Go 1.20, plus query, first, label, value,
// strvalue, sortByLabel, args, the humanize family, toTime, title, toUpper,
// toLower, match, reReplaceAll, safeHtml, stripPort, stripDomain, graphLink,
// tableLink, externalURL, pathPrefix and parseDuration. Errors read as Go's:
// "template: NAME:LINE: msg" when parsing, "template: NAME:LINE:COL:
// executing "NAME" at <node>: msg" when expanding. Like Prometheus, the
// alert's variables ($labels, $externalLabels, $externalURL, $value) are
// declared by a prefix of actions, so columns on the first line count it.
//
// Thread-safety: a parsed Template is immutable and may be expanded from
// several threads; the query callback must be safe to call from them.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgdr/core/status.h"

namespace pgdr::rules {

// One sample of a template query's result (Prometheus's template.sample).
struct TemplateSample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct TemplateData {
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> external_labels;
  std::string external_url;
  double value = 0;
  // The functions externalURL and pathPrefix: promtool's unit tests have
  // no URL object (nullopt: both fail as Go's nil dereference does).
  std::optional<std::string> url_object;
  // `query`: an instant PromQL query at the rule's evaluation time. Unset:
  // query fails. Errors are returned as the message Go would print.
  std::function<core::Result<std::vector<TemplateSample>>(std::string_view)> query;
};

namespace tmpl {
struct Tree;
}

class Template {
 public:
  // `name` appears in errors as Go does: "template: NAME:LINE: msg".
  // `text` is parsed as is (without the alert variables' prefix).
  static core::Result<Template> Parse(std::string_view name, std::string_view text);
  core::Result<std::string> Expand(const TemplateData& data) const;

 private:
  std::shared_ptr<const tmpl::Tree> tree_;
};

// Prometheus's prefix declaring $labels, $externalLabels, $externalURL and
// $value, then `text`: what rule files' templates are parsed as.
std::string AlertTemplateText(std::string_view text);

// Parses AlertTemplateText(text) and expands it; on error returns
// "<error expanding template: ...>" as Prometheus does.
std::string ExpandAlertTemplate(std::string_view name, std::string_view text,
                                const TemplateData& data);

// Go's fmt "%.4g" (used by humanize*): "1.235e+07", "+Inf", "NaN".
std::string FormatG4(double v);

}  // namespace pgdr::rules

// Read-only views of a snapshot for humans and tools: the /api/v1/targets
// JSON (in the shape of Prometheus's targets API, with our labels) and the
// status page at "/". Both are built from the immutable snapshot only; the
// page's alerts table from the evaluator's alerts.
#pragma once

#include <string>
#include <vector>

#include "pgdr/collect/snapshot.h"
#include "pgdr/rules/manager.h"

namespace pgdr::app {

std::string TargetsJson(const collect::Snapshot& snapshot);

// `extra_html` is appended inside <body> (the evaluator adds its alerts).
std::string StatusPageHtml(const collect::Snapshot& snapshot, const std::string& version,
                           const std::string& extra_html);

// The pending and firing alerts as an HTML table, for StatusPageHtml's extra_html.
std::string AlertsHtml(const std::vector<rules::ManagedAlert>& alerts);

// Escapes &, <, >, " for HTML text and attributes.
std::string HtmlEscape(const std::string& text);

}  // namespace pgdr::app

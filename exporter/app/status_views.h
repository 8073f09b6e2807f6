// Read-only views of a snapshot for humans and tools: the /api/v1/targets
// JSON (in the shape of Prometheus's targets API, with our labels) and the
// status page at "/". Both are built from the immutable snapshot only.
#pragma once

#include <string>

#include "pgdr/collect/snapshot.h"

namespace pgdr::app {

std::string TargetsJson(const collect::Snapshot& snapshot);

// `extra_html` is appended inside <body> (the evaluator adds its alerts).
std::string StatusPageHtml(const collect::Snapshot& snapshot, const std::string& version,
                           const std::string& extra_html);

// Escapes &, <, >, " for HTML text and attributes.
std::string HtmlEscape(const std::string& text);

}  // namespace pgdr::app

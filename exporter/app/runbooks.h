// The runbooks pgdr serves itself, so that an alert's runbook_url
// ({{ $externalURL }}/runbooks/<AlertName>) answers wherever pgdr runs:
// docs/runbooks/*.md are embedded into the binary at build time
// (embed_runbooks.cmake generates runbooks_data.cc) and rendered to HTML
// on request.
//
//   GET /runbooks/              the index, one link per runbook
//   GET /runbooks/<AlertName>   the runbook; 404 naming the alert when unknown
//
// Links between runbooks ([X](X.md)) become /runbooks/X; other relative
// links (repository paths) keep only their text.
//
// Thread-safety: the embedded data is immutable; the functions are pure.
#pragma once

#include <span>
#include <string_view>

#include "pgdr/http/server.h"

namespace pgdr::app {

struct Runbook {
  std::string_view name;  // the alert name (file name without .md)
  std::string_view markdown;
};

// Sorted by name. Defined in the generated runbooks_data.cc.
std::span<const Runbook> EmbeddedRunbooks();

// Whether pgdr ships a runbook for `alertname`.
bool HasRunbook(std::string_view alertname);

http::HttpResponse RunbookIndexPage();
http::HttpResponse RunbookPage(std::string_view alertname);

}  // namespace pgdr::app

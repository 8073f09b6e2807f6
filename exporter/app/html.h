// HTML escaping shared by the pages pgdr renders itself (the status page,
// the runbooks): every text and attribute value goes through it.
//
// Thread-safety: pure function.
#pragma once

#include <string>
#include <string_view>

namespace pgdr::app {

// Escapes &, <, >, " and ' for HTML text and (quoted) attributes.
std::string HtmlEscape(std::string_view text);

}  // namespace pgdr::app

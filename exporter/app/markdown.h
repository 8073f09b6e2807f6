// A minimal Markdown to HTML renderer for the runbooks pgdr serves at
// /runbooks/<AlertName> (docs/runbooks/*.md, embedded at build time).
//
// It renders what the runbooks use and nothing more: ATX headings, paragraphs,
// unordered and ordered lists (nested by indentation, continuation lines),
// fenced code blocks, pipe tables, and inline `code`, **bold**, *emphasis*
// and [links](url). All text is HTML-escaped; raw HTML is not passed through.
// Links go through `link`, which maps a target to an href, or to "" to keep
// only the text (a repository-relative path that means nothing when served).
//
// Thread-safety: pure functions.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace pgdr::app {

using LinkMapper = std::function<std::string(std::string_view target)>;

std::string MarkdownToHtml(std::string_view markdown, const LinkMapper& link);

}  // namespace pgdr::app

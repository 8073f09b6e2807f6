#include "app/runbooks.h"

#include <algorithm>
#include <string>

#include "app/html.h"
#include "app/markdown.h"

namespace pgdr::app {
namespace {

const Runbook* Find(std::string_view name) {
  const auto all = EmbeddedRunbooks();
  const auto it =
      std::find_if(all.begin(), all.end(), [&](const Runbook& r) { return r.name == name; });
  return it == all.end() ? nullptr : &*it;
}

// [X](X.md) between runbooks, absolute URLs as they are, anchors kept;
// repository-relative paths ("../../rules/x.yml") mean nothing when served.
std::string MapLink(std::string_view target) {
  if (target.starts_with("http://") || target.starts_with("https://") || target.starts_with("#")) {
    return std::string(target);
  }
  if (target.ends_with(".md") && target.find('/') == std::string_view::npos) {
    const std::string_view name = target.substr(0, target.size() - 3);
    if (Find(name) != nullptr) return "/runbooks/" + std::string(name);
  }
  return "";
}

std::string Page(std::string_view title, const std::string& body) {
  return "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
         HtmlEscape(title) +
         "</title><style>"
         "body{font-family:system-ui,sans-serif;max-width:60em;margin:1.5em auto;padding:0 1em;"
         "line-height:1.45;color:#1d2430}"
         "code{background:#f1f3f6;padding:.05em .3em;border-radius:3px}"
         "pre{background:#f1f3f6;padding:.7em;overflow-x:auto}pre code{padding:0}"
         "table{border-collapse:collapse}td,th{border:1px solid #ccd;padding:.25em .6em;"
         "text-align:left}nav a{margin-right:1em}"
         "</style></head><body><nav><a href=\"/\">pgdr status</a><a href=\"/runbooks/\">"
         "runbooks</a></nav>" +
         body + "</body></html>";
}

}  // namespace

bool HasRunbook(std::string_view alertname) { return Find(alertname) != nullptr; }

http::HttpResponse RunbookIndexPage() {
  std::string body = "<h1>Runbooks</h1><p>One per alert pgdr ships (rules/*.yml).</p><ul>";
  for (const auto& r : EmbeddedRunbooks()) {
    const std::string name = HtmlEscape(r.name);
    body += "<li><a href=\"/runbooks/" + name + "\">" + name + "</a></li>";
  }
  body += "</ul>";
  return {200, "text/html; charset=utf-8", Page("pgdr runbooks", body)};
}

http::HttpResponse RunbookPage(std::string_view alertname) {
  const Runbook* r = Find(alertname);
  if (r == nullptr) {
    const std::string name = HtmlEscape(alertname);
    return {
        404, "text/html; charset=utf-8",
        Page("runbook not found",
             "<h1>No runbook for \"" + name +
                 "\"</h1><p>pgdr ships runbooks only for the "
                 "alerts of its own rule files. The list: <a href=\"/runbooks/\">/runbooks/</a>."
                 "</p>")};
  }
  return {200, "text/html; charset=utf-8",
          Page(std::string(r->name) + " runbook", MarkdownToHtml(r->markdown, MapLink))};
}

}  // namespace pgdr::app

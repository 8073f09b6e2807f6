#include "app/status_views.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "pgdr/core/time_format.h"

namespace pgdr::app {
namespace {

std::string Rfc3339(std::chrono::system_clock::time_point t) {
  return core::FormatRfc3339(t, core::Fraction::kNone);
}

std::string Role(const collect::TargetResult& t) {
  if (!t.facts.up || !t.facts.in_recovery) return "unknown";
  return *t.facts.in_recovery ? "replica" : "primary";
}

// The value of a computed series for a member, if present.
std::optional<double> Computed(const collect::Snapshot& s, const std::string& name,
                               const collect::TargetResult& t) {
  for (const auto& f : s.computed) {
    if (f.name != name) continue;
    for (const auto& m : f.metric) {
      bool match = true;
      for (const auto& l : m.label) {
        if (l.name == "member" && l.value != t.member) match = false;
        if (l.name == "cluster" && l.value != t.cluster) match = false;
      }
      if (match) return core::SampleValue(f, m);
    }
  }
  return std::nullopt;
}

std::string Format(std::optional<double> v, const char* unit) {
  if (!v) return "–";
  std::ostringstream out;
  out.precision(4);
  out << *v << unit;
  return out.str();
}

}  // namespace

std::string HtmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string TargetsJson(const collect::Snapshot& snapshot) {
  nlohmann::json targets = nlohmann::json::array();
  for (const auto& t : snapshot.targets) {
    nlohmann::json labels = nlohmann::json::object();
    for (const auto& l : t->labels) labels[l.name] = l.value;
    nlohmann::json item = {
        {"labels", labels},
        {"health", t->facts.up ? "up" : "down"},
        {"role", Role(*t)},
        {"lastError", t->error},
        {"lastScrape", Rfc3339(t->collected_at)},
        {"lastScrapeDuration", t->duration_seconds},
        {"serverVersionNum", t->facts.server_version_num},
    };
    if (t->facts.lsn_bytes) item["lsnBytes"] = *t->facts.lsn_bytes;
    targets.push_back(std::move(item));
  }
  nlohmann::json body = {
      {"status", "success"},
      {"data", {{"activeTargets", targets}, {"droppedTargets", nlohmann::json::array()}}}};
  return body.dump();
}

std::string StatusPageHtml(const collect::Snapshot& snapshot, const std::string& version,
                           const std::string& extra_html) {
  std::ostringstream out;
  out << "<!doctype html><html><head><meta charset=\"utf-8\"><title>pgdr</title>"
         "<meta http-equiv=\"refresh\" content=\"10\"><style>"
         "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1."
         "5em}"
         "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
         ".down{background:#fdd}.primary{font-weight:bold}</style></head><body>"
      << "<h1>pgdr " << HtmlEscape(version) << "</h1>"
      << "<p>Snapshot of " << Rfc3339(snapshot.composed_at) << ", " << snapshot.series
      << " series. <a href=\"/metrics\">/metrics</a> · <a href=\"/api/v1/targets\">targets</a>"
         " · <a href=\"/api/v1/rules\">rules</a> · <a href=\"/api/v1/alerts\">alerts</a></p>"
      << "<h2>Members</h2><table><tr><th>cluster</th><th>member</th><th>region</th><th>role</th>"
         "<th>up</th><th>lag</th><th>lag (s)</th><th>last error</th></tr>";
  for (const auto& t : snapshot.targets) {
    const std::string role = Role(*t);
    out << "<tr class=\"" << (t->facts.up ? role : "down") << "\"><td>" << HtmlEscape(t->cluster)
        << "</td><td>" << HtmlEscape(t->member) << "</td><td>" << HtmlEscape(t->region)
        << "</td><td>" << role << "</td><td>" << (t->facts.up ? "1" : "0") << "</td><td>"
        << Format(Computed(snapshot, "pgdr_replication_lag_bytes", *t), " B") << "</td><td>"
        << Format(Computed(snapshot, "pgdr_replication_lag_seconds", *t), " s") << "</td><td>"
        << HtmlEscape(t->error) << "</td></tr>";
  }
  out << "</table><h2>Recovery point objective</h2><table><tr><th>cluster</th><th>scope</th>"
         "<th>bytes</th><th>seconds</th></tr>";
  std::map<std::pair<std::string, std::string>,
           std::pair<std::optional<double>, std::optional<double>>>
      rpo;
  for (const auto& f : snapshot.computed) {
    if (f.name != "pgdr_rpo_bytes" && f.name != "pgdr_rpo_seconds") continue;
    for (const auto& m : f.metric) {
      std::string cluster;
      std::string scope;
      for (const auto& l : m.label) {
        if (l.name == "cluster") cluster = l.value;
        if (l.name == "scope") scope = l.value;
      }
      auto& slot = rpo[{cluster, scope}];
      (f.name == "pgdr_rpo_bytes" ? slot.first : slot.second) = core::SampleValue(f, m);
    }
  }
  for (const auto& [key, v] : rpo) {
    out << "<tr><td>" << HtmlEscape(key.first) << "</td><td>" << HtmlEscape(key.second)
        << "</td><td>" << Format(v.first, " B") << "</td><td>" << Format(v.second, " s")
        << "</td></tr>";
  }
  out << "</table>" << extra_html << "</body></html>";
  return out.str();
}

std::string AlertsHtml(const std::vector<rules::ManagedAlert>& alerts) {
  std::string out =
      "<h2>Alerts</h2><table><tr><th>alert</th><th>state</th><th>labels</th>"
      "<th>summary</th></tr>";
  size_t shown = 0;
  for (const auto& a : alerts) {
    if (a.alert.state == rules::AlertState::kInactive || a.alert.resolved_at_ms != 0) continue;
    std::string labels;
    for (const auto& l : a.alert.labels) {
      if (l.name == "alertname") continue;
      labels += l.name + "=" + l.value + " ";
    }
    const auto summary_it = a.alert.annotations.find("summary");
    const std::string summary = summary_it == a.alert.annotations.end() ? "" : summary_it->second;
    out += "<tr><td>" + HtmlEscape(a.rule) + "</td><td>" +
           HtmlEscape(rules::AlertStateName(a.alert.state)) + "</td><td>" + HtmlEscape(labels) +
           "</td><td>" + HtmlEscape(summary) + "</td></tr>";
    ++shown;
  }
  if (shown == 0) out += "<tr><td colspan=4>none</td></tr>";
  return out + "</table>";
}

}  // namespace pgdr::app

#include "app/status_page.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "app/html.h"
#include "app/runbooks.h"
#include "app/verdict.h"
#include "pgdr/core/strings.h"
#include "pgdr/core/time_format.h"

namespace pgdr::app {
namespace {

using SystemClock = std::chrono::system_clock;

constexpr const char* kPalette[] = {"#2f6fdf", "#d9534f", "#3c9a5f", "#c58a00", "#8e44ad", "#555"};

constexpr const char* kStyle =
    "body{font-family:system-ui,sans-serif;margin:1.2em;color:#1d2430;background:#fafbfc}"
    "h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.2em;margin:.3em 0}h3{font-size:1em;"
    "margin:.8em 0 .3em}table{border-collapse:collapse;margin:.3em 0 1em;background:#fff}"
    "td,th{border:1px solid #d5d9e0;padding:.25em .55em;text-align:left;vertical-align:top}"
    "th{background:#eef1f5}section.cluster{border:1px solid #d5d9e0;border-left-width:.5em;"
    "padding:.4em 1em;margin:1em 0;background:#fff}"
    ".ok{background:#e6f4ea}.warn{background:#fff4d6}.crit{background:#fde2e1}"
    ".unknown{background:#eef1f5}section.ok{border-left-color:#3c9a5f}"
    "section.warn{border-left-color:#e0a800}section.crit{border-left-color:#d9534f}"
    "section.unknown{border-left-color:#99a}.badge{padding:.1em .5em;border-radius:.3em;"
    "font-size:.8em;text-transform:uppercase;border:1px solid #bbb}"
    "ul.verdict{list-style:none;padding:0;margin:.3em 0}ul.verdict li{padding:.2em .5em;"
    "margin:.15em 0;border-radius:.2em}tr.firing{background:#fde2e1}tr.pending{"
    "background:#fff4d6}tr.down{background:#fde2e1}tr.primary td:nth-child(3){"
    "font-weight:bold}.muted{color:#667}svg.spark{background:#f6f8fa;border:1px solid "
    "#d5d9e0}.legend span{margin-right:1em;white-space:nowrap}.sw{display:inline-block;"
    "width:.8em;height:.8em;margin-right:.3em}.charts{display:flex;gap:2em;flex-wrap:wrap}"
    "code{background:#f1f3f6;padding:0 .25em}";

std::string Rfc3339(SystemClock::time_point t) {
  return core::FormatRfc3339(t, core::Fraction::kNone);
}

std::string Ago(SystemClock::time_point t, SystemClock::time_point now) {
  return core::HumanSeconds(std::chrono::duration<double>(now - t).count()) + " ago";
}

// A figure with its raw value for tools (data-value) and its human form.
std::string FigureCell(std::optional<double> v, bool bytes) {
  if (!v) return "<td class=\"muted\" data-value=\"\">unknown</td>";
  char raw[40];
  std::snprintf(raw, sizeof raw, "%.17g", *v);
  return std::string("<td data-value=\"") + raw + "\">" +
         HtmlEscape(bytes ? core::HumanBytes(*v) : core::HumanSeconds(*v)) + "</td>";
}

struct Line {
  std::string name;                   // legend
  std::string key;                    // the series as Prometheus prints it
  std::vector<tsdb::Sample> samples;  // staleness markers left out
  bool stale = false;                 // the series' newest sample is a staleness marker
};

std::vector<Line> History(const ConsoleInputs& in, const std::string& family,
                          const std::string& cluster, const std::string& legend_label) {
  std::vector<Line> out;
  if (in.history == nullptr) return out;
  auto name = tsdb::Matcher::Make(tsdb::MatchType::kEqual, std::string(tsdb::kMetricName), family);
  auto of = tsdb::Matcher::Make(tsdb::MatchType::kEqual, "cluster", cluster);
  if (!name.ok() || !of.ok()) return out;
  const auto ms = [](SystemClock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  };
  const int64_t maxt = ms(in.now);
  for (auto& s : in.history->Select({*name, *of}, maxt - in.history_window.count(), maxt)) {
    Line line{
        std::string(tsdb::GetLabel(s.labels, legend_label)), tsdb::LabelsToString(s.labels), {}};
    for (const auto& sample : s.samples) {
      if (!tsdb::IsStaleNaN(sample.v)) line.samples.push_back(sample);
    }
    line.stale = !s.samples.empty() && tsdb::IsStaleNaN(s.samples.back().v);
    if (!line.samples.empty()) out.push_back(std::move(line));
  }
  return out;
}

// A small SVG line chart of `lines` from their oldest sample in the window
// (at least a minute) to now, a gap where a series has no sample for over a
// minute (the source was down or stale).
std::string Sparkline(const std::vector<Line>& lines, const ConsoleInputs& in,
                      const std::string& title) {
  constexpr double kW = 260;
  constexpr double kH = 44;
  const double maxt = std::chrono::duration<double, std::milli>(in.now.time_since_epoch()).count();
  double mint = maxt - 60'000;
  double top = 0;
  for (const auto& l : lines) {
    for (const auto& s : l.samples) top = std::max(top, s.v);
    mint = std::min(mint, static_cast<double>(l.samples.front().t));
  }
  mint = std::max(mint, maxt - static_cast<double>(in.history_window.count()));
  const double scale = std::max(top, 1.0);
  std::string svg = "<div class=\"chart\"><div>" + HtmlEscape(title) +
                    " <span class=\"muted\">(last " + core::HumanSeconds((maxt - mint) / 1000.0) +
                    ", max " + core::HumanBytes(top) +
                    ")</span></div><svg class=\"spark\" width=\"260\" height=\"44\" "
                    "viewBox=\"0 0 260 44\" role=\"img\" aria-label=\"" +
                    HtmlEscape(title) + "\">";
  if (lines.empty()) {
    svg +=
        "<text x=\"6\" y=\"26\" font-size=\"11\" fill=\"#667\">no samples in the local TSDB"
        "</text>";
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string points;
    int64_t prev = 0;
    const auto flush = [&] {
      if (!points.empty()) {
        svg += std::string("<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"") +
               kPalette[i % std::size(kPalette)] + "\" points=\"" + points + "\"/>";
      }
      points.clear();
    };
    for (const auto& s : lines[i].samples) {
      if (!points.empty() && s.t - prev > 60'000) flush();
      char xy[48];
      std::snprintf(xy, sizeof xy, "%.1f,%.1f ",
                    (static_cast<double>(s.t) - mint) / (maxt - mint) * kW,
                    kH - 2 - s.v / scale * (kH - 4));
      points += xy;
      prev = s.t;
    }
    flush();
  }
  svg += "</svg><div class=\"legend\">";
  for (size_t i = 0; i < lines.size(); ++i) {
    svg += std::string("<span><i class=\"sw\" style=\"background:") +
           kPalette[i % std::size(kPalette)] + "\"></i>" + HtmlEscape(lines[i].name) + " " +
           HtmlEscape(core::HumanBytes(lines[i].samples.back().v)) +
           (lines[i].stale ? " <span class=\"muted\">(stale: no longer exported)</span>" : "") +
           "</span>";
  }
  return svg + "</div></div>";
}

std::string AnswerItem(const char* question, const char* id, const Answer& a) {
  return std::string("<li class=\"") + LevelName(a.level) + "\" data-q=\"" + id + "\"><b>" +
         question + "</b> " + HtmlEscape(a.text) + "</li>";
}

// The cluster's lag-aware read pools: where each points, which replicas are admitted.
void ReadPoolsTable(const std::string& cluster, const std::vector<actions::ReadPoolView>& pools,
                    std::string& out) {
  std::string rows;
  for (const auto& p : pools) {
    if (p.cluster != cluster) continue;
    std::string admitted, out_of_pool;
    for (const auto& [member, in] : p.admitted) {
      std::string& list = in ? admitted : out_of_pool;
      list += (list.empty() ? "" : ", ") + HtmlEscape(member);
    }
    rows += std::string("<tr class=\"") + (p.last_error.empty() ? "ok" : "down") + "\"><td>" +
            HtmlEscape(p.pooler) + "</td><td>" + HtmlEscape(p.database) + "</td><td>" +
            (p.current.empty() ? "–" : HtmlEscape(p.current)) + "</td><td>" + admitted +
            "</td><td>" + out_of_pool + "</td><td>" + std::to_string(static_cast<long>(p.changes)) +
            "</td><td>" + HtmlEscape(p.last_error) + "</td></tr>";
  }
  if (rows.empty()) return;
  out +=
      "<h3>Read pools</h3><table class=\"read-pools\"><tr><th>pooler</th><th>database</th>"
      "<th>points at</th><th>admitted</th><th>not admitted</th><th>changes</th>"
      "<th>last error</th></tr>" +
      rows + "</table>";
}

void ClusterSection(const ClusterVerdict& v, const ConsoleInputs& in, std::string& out) {
  const std::string level = LevelName(v.overall);
  const std::string c = HtmlEscape(v.cluster);
  out += "<section class=\"cluster " + level + "\" id=\"cluster-" + c + "\"><h2>" + c +
         " <span class=\"badge " + level + "\" id=\"verdict-" + c + "\">" + level +
         "</span></h2><ul class=\"verdict\">" + AnswerItem("Lose a node?", "node", v.node) +
         AnswerItem("Lose a region?", "region", v.region) +
         AnswerItem("Lose the data (restore to a point in time)?", "data", v.data) +
         AnswerItem("Restore drill:", "drill", v.drill) + "</ul>";

  out +=
      "<h3>Recovery point objective</h3><table class=\"rpo\"><tr><th>scope</th><th>bytes</th>"
      "<th>seconds</th></tr>";
  for (const auto& [scope, r] : v.rpo) {
    out += "<tr class=\"rpo-row\" data-scope=\"" + HtmlEscape(scope) + "\"><td>" +
           HtmlEscape(scope) + "</td>" + FigureCell(r.bytes, true) + FigureCell(r.seconds, false) +
           "</tr>";
  }
  if (v.rpo.empty()) {
    out +=
        "<tr><td colspan=\"3\" class=\"muted\">none exported (pgdr_rpo_bytes needs a known "
        "primary position)</td></tr>";
  }
  out += "</table><p>Replicas streaming: <b>" + std::to_string(v.replicas_streaming) + " of " +
         std::to_string(v.replicas_expected) +
         "</b> expected · backup stores answering: " + std::to_string(v.stores_up) + " of " +
         std::to_string(v.stores) + " · newest base backup: " +
         (v.newest_backup_age_seconds ? core::HumanSeconds(*v.newest_backup_age_seconds) + " old"
                                      : std::string("none")) +
         " · WAL chain gaps: " +
         (v.wal_gap_segments ? std::to_string(static_cast<long long>(*v.wal_gap_segments))
                             : std::string("unknown")) +
         "</p>";

  out += "<div class=\"charts\">" +
         Sparkline(History(in, "pgdr_replication_lag_bytes", v.cluster, "member"), in,
                   "replication lag (bytes)") +
         Sparkline(History(in, "pgdr_rpo_bytes", v.cluster, "scope"), in, "RPO (bytes)") + "</div>";

  out +=
      "<h3>Members</h3><table class=\"members\"><tr><th>member</th><th>region</th>"
      "<th>role</th><th>up</th><th>streaming</th><th>lag</th><th>lag (s)</th>"
      "<th>last error</th></tr>";
  for (const auto& m : v.members) {
    out +=
        "<tr class=\"" + std::string(m.up ? m.role : "down") + "\" data-member=\"" +
        HtmlEscape(m.member) + "\"><td>" + HtmlEscape(m.member) + "</td><td>" +
        HtmlEscape(m.region) + "</td><td>" + m.role + "</td><td>" + (m.up ? "1" : "0") +
        "</td><td>" + (m.streaming ? (*m.streaming ? "yes" : "no") : "–") + "</td>" +
        (m.role == "primary" ? std::string("<td>–</td><td>–</td>")
                             : FigureCell(m.lag_bytes, true) + FigureCell(m.lag_seconds, false)) +
        "<td>" + HtmlEscape(m.error) + "</td></tr>";
  }
  out += "</table>";
  if (!v.poolers.empty()) {
    out +=
        "<h3>PgBouncers</h3><table class=\"poolers\"><tr><th>pooler</th><th>up</th>"
        "<th>last error</th></tr>";
    for (const auto& p : v.poolers) {
      out += std::string("<tr class=\"") + (p.up ? "ok" : "down") + "\"><td>" + HtmlEscape(p.name) +
             "</td><td>" + (p.up ? "1" : "0") + "</td><td>" + HtmlEscape(p.error) + "</td></tr>";
    }
    out += "</table>";
  }
  ReadPoolsTable(v.cluster, in.read_pools, out);
  out += "</section>";
}

std::string Label(const tsdb::Labels& labels, std::string_view name) {
  return std::string(tsdb::GetLabel(labels, name));
}

void AlertsSection(const ConsoleInputs& in, std::string& out) {
  out +=
      "<h2>Alerts</h2><table class=\"alerts\"><tr><th>state</th><th>alert</th><th>cluster</th>"
      "<th>labels</th><th>summary</th><th>since</th><th>runbook</th></tr>";
  std::vector<const rules::ManagedAlert*> active;
  for (const auto& a : in.alerts) {
    if (a.alert.state != rules::AlertState::kInactive && a.alert.resolved_at_ms == 0) {
      active.push_back(&a);
    }
  }
  // Firing first, then by name.
  std::stable_sort(active.begin(), active.end(), [](const auto* x, const auto* y) {
    return std::pair(x->alert.state != rules::AlertState::kFiring, x->rule) <
           std::pair(y->alert.state != rules::AlertState::kFiring, y->rule);
  });
  for (const auto* a : active) {
    std::string labels;
    for (const auto& l : a->alert.labels) {
      if (l.name == "alertname" || l.name == "cluster") continue;
      labels += l.name + "=" + l.value + " ";
    }
    const auto get = [&](const char* key) {
      const auto it = a->alert.annotations.find(key);
      return it == a->alert.annotations.end() ? std::string() : it->second;
    };
    std::string runbook = get("runbook_url");
    if (runbook.empty() && HasRunbook(a->rule)) runbook = "/runbooks/" + a->rule;
    const std::string state = rules::AlertStateName(a->alert.state);
    const auto since = SystemClock::time_point(std::chrono::milliseconds(
        a->alert.fired_at_ms != 0 ? a->alert.fired_at_ms : a->alert.active_at_ms));
    out += "<tr class=\"" + HtmlEscape(state) + "\" data-alert=\"" + HtmlEscape(a->rule) +
           "\"><td>" + HtmlEscape(state) + "</td><td>" + HtmlEscape(a->rule) + "</td><td>" +
           HtmlEscape(Label(a->alert.labels, "cluster")) + "</td><td>" + HtmlEscape(labels) +
           "</td><td>" + HtmlEscape(get("summary")) + "</td><td>" + Ago(since, in.now) +
           "</td><td>" +
           (runbook.empty()
                ? std::string("–")
                : "<a class=\"runbook\" href=\"" + HtmlEscape(runbook) + "\">runbook</a>") +
           "</td></tr>";
  }
  if (active.empty()) out += "<tr><td colspan=\"7\" class=\"muted\">none</td></tr>";
  out += "</table>";
}

const char* ResultClass(const std::string& result) {
  if (result == "success") return "ok";
  if (result == "failed" || result == "dropped") return "crit";
  if (result == "refused" || result == "dry_run" || result == "started") return "warn";
  return "unknown";
}

void DecisionsSection(const ConsoleInputs& in, std::string& out) {
  out +=
      "<h2>Decisions (last 24 h)</h2><table class=\"decisions\"><tr><th>time</th>"
      "<th>cluster</th><th>action</th><th>result</th><th>decision</th><th>reason</th>"
      "<th>evidence</th><th>alert</th></tr>";
  for (const auto& d : in.decisions) {
    std::string evidence;
    for (const auto& [k, v] : d.evidence) {
      if (!v.empty()) evidence += "<code>" + HtmlEscape(k) + "=" + HtmlEscape(v) + "</code> ";
    }
    out += std::string("<tr class=\"decision ") + ResultClass(d.result) + "\"><td>" +
           Rfc3339(d.at) + "<br><span class=\"muted\">" + Ago(d.at, in.now) + "</span></td><td>" +
           HtmlEscape(d.cluster) + "</td><td>" + HtmlEscape(d.action) + " <span class=\"muted\">" +
           HtmlEscape(d.trigger) + "</span></td><td>" + HtmlEscape(d.result) +
           "</td><td class=\"summary\">" + HtmlEscape(d.summary) + "</td><td>" +
           HtmlEscape(d.reason) + "</td><td>" + evidence + "</td><td>" + HtmlEscape(d.alertname) +
           "</td></tr>";
  }
  if (in.decisions.empty()) {
    out += "<tr><td colspan=\"8\" class=\"muted\">no decision in the last 24 h</td></tr>";
  }
  out += "</table>";
}

void MaintenanceSection(const ConsoleInputs& in, std::string& out) {
  out += "<h2>Maintenance windows</h2>";
  if (!in.maintenance.is_object()) {
    out += "<p class=\"muted\">the actions module is not running</p>";
    return;
  }
  out += "<table class=\"maintenance\"><tr><th>cluster</th><th>now</th><th>window</th></tr>";
  for (const auto& c : in.maintenance.value("clusters", nlohmann::json::array())) {
    const bool active = c.value("active", false);
    out += std::string("<tr class=\"") + (active ? "warn" : "ok") + "\"><td>" +
           HtmlEscape(c.value("cluster", "")) + "</td><td>" +
           (active ? "in maintenance: actions held back" : "no window active") + "</td><td>" +
           HtmlEscape(c.value("window", "")) + "</td></tr>";
  }
  out +=
      "</table><h3>Scheduled and manual windows</h3><table class=\"windows\"><tr><th>kind</th>"
      "<th>cluster</th><th>when</th><th>reason</th></tr>";
  size_t n = 0;
  for (const auto& w : in.maintenance.value("windows", nlohmann::json::array())) {
    const std::string kind = w.value("kind", "");
    const std::string when = kind == "manual" ? "until " + w.value("until", "")
                                              : "cron " + w.value("cron", "") + " for " +
                                                    w.value("duration", "") + ", next start " +
                                                    w.value("next_start", "");
    out += "<tr><td>" + HtmlEscape(kind) + "</td><td>" + HtmlEscape(w.value("cluster", "")) +
           "</td><td>" + HtmlEscape(when) + "</td><td>" + HtmlEscape(w.value("reason", "")) +
           "</td></tr>";
    ++n;
  }
  if (n == 0) out += "<tr><td colspan=\"4\" class=\"muted\">none</td></tr>";
  out += "</table>";
}

}  // namespace

const std::vector<std::string>& ConsoleHistoryFamilies() {
  static const std::vector<std::string> kFamilies = {"pgdr_replication_lag_bytes",
                                                     "pgdr_rpo_bytes"};
  return kFamilies;
}

std::string ConsolePageHtml(const ConsoleInputs& in) {
  const collect::Snapshot empty;
  const collect::Snapshot& snapshot = in.snapshot ? *in.snapshot : empty;
  std::string out = std::string(
                        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                        "<meta name=\"viewport\" content=\"width=device-width\"><title>pgdr status"
                        "</title><style>") +
                    kStyle + "</style></head><body><h1>pgdr " + HtmlEscape(in.version) +
                    " <span class=\"muted\">DR console</span></h1><p>";
  out += in.snapshot ? "Snapshot of " + Rfc3339(snapshot.composed_at) + ", " +
                           std::to_string(snapshot.series) + " series."
                     : std::string("No collection has finished yet.");
  out += " <a href=\"/\">refresh</a>" +
         std::string(in.auto_refresh ? " <span id=\"auto\" class=\"muted\">(reloads every 5 s;"
                                       " <a href=\"/?refresh=0\">stop</a>)</span>"
                                     : " <span class=\"muted\">(auto-refresh off; <a "
                                       "href=\"/\">turn on</a>)</span>") +
         " · <a href=\"/metrics\">/metrics</a> · <a href=\"/api/v1/status\">status</a> · "
         "<a href=\"/api/v1/decisions\">decisions</a> · <a href=\"/api/v1/alerts\">alerts</a> · "
         "<a href=\"/api/v1/targets\">targets</a> · <a href=\"/api/v1/rules\">rules</a> · "
         "<a href=\"/api/v1/maintenance\">maintenance</a> · <a href=\"/runbooks/\">runbooks</a>"
         "</p>";
  const auto verdicts = ClusterVerdicts(snapshot, in.stores, in.now);
  for (const auto& v : verdicts) ClusterSection(v, in, out);
  if (verdicts.empty()) out += "<p class=\"muted\">No cluster reported yet.</p>";
  AlertsSection(in, out);
  DecisionsSection(in, out);
  MaintenanceSection(in, out);
  if (in.auto_refresh) {
    out += "<script>setTimeout(function(){location.reload();},5000);</script>";
  }
  return out + "</body></html>";
}

nlohmann::json StatusJson(const ConsoleInputs& in) {
  const collect::Snapshot empty;
  const collect::Snapshot& snapshot = in.snapshot ? *in.snapshot : empty;
  nlohmann::json clusters = nlohmann::json::array();
  for (const auto& v : ClusterVerdicts(snapshot, in.stores, in.now)) {
    nlohmann::json item = VerdictJson(v);
    nlohmann::json history = nlohmann::json::object();
    for (const auto& family : ConsoleHistoryFamilies()) {
      for (const auto& line : History(in, family, v.cluster, "")) {
        nlohmann::json points = nlohmann::json::array();
        for (const auto& s : line.samples) points.push_back({s.t / 1000.0, s.v});
        history[line.key] = std::move(points);
      }
    }
    item["history"] = std::move(history);
    clusters.push_back(std::move(item));
  }
  return {{"status", "success"},
          {"data",
           {{"composedAt", in.snapshot ? Rfc3339(snapshot.composed_at) : ""},
            {"clusters", std::move(clusters)}}}};
}

}  // namespace pgdr::app

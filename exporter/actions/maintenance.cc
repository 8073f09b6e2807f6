#include "pgdr/actions/maintenance.h"

#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>

#include "pgdr/config/yaml_reader.h"
#include "pgdr/core/log.h"

namespace pgdr::actions {

namespace {

using std::chrono::minutes;

constexpr const char* kMonths[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                   "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kDays[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

// A number or (for months/weekdays) a three-letter name.
bool ParseValue(std::string s, int field, int& out) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (field == 3) {
    for (int i = 0; i < 12; ++i) {
      if (s == kMonths[i]) return out = i + 1, true;
    }
  }
  if (field == 4) {
    for (int i = 0; i < 7; ++i) {
      if (s == kDays[i]) return out = i, true;
    }
  }
  if (s.empty() || s.size() > 4) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  out = std::stoi(s);
  return true;
}

// Parses one field into bits[lo..hi]; returns false on syntax errors.
bool ParseField(const std::string& text, int field, int lo, int hi, std::vector<bool>& bits,
                bool& star) {
  bits.assign(hi + 1, false);
  star = text == "*" || text == "?";
  std::stringstream parts(text);
  std::string part;
  while (std::getline(parts, part, ',')) {
    int step = 1;
    const bool stepped = part.find('/') != std::string::npos;
    if (const auto slash = part.find('/'); slash != std::string::npos) {
      if (!ParseValue(part.substr(slash + 1), -1, step) || step <= 0) return false;
      part = part.substr(0, slash);
    }
    int from = lo, to = hi;
    if (part != "*" && part != "?") {
      const auto dash = part.find('-');
      if (dash == std::string::npos) {
        if (!ParseValue(part, field, from)) return false;
        to = stepped ? hi : from;
      } else if (!ParseValue(part.substr(0, dash), field, from) ||
                 !ParseValue(part.substr(dash + 1), field, to)) {
        return false;
      }
    }
    if (field == 4 && to == 7 && from <= 7) {  // 7 is Sunday too
      bits[0] = true;
      to = 6;
      if (from == 7) continue;
    }
    if (from < lo || to > hi || from > to) return false;
    for (int v = from; v <= to; v += step) bits[v] = true;
  }
  return true;
}

std::tm Utc(TimePoint t) {
  const std::time_t secs = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

TimePoint FloorMinute(TimePoint t) { return std::chrono::floor<minutes>(t); }

}  // namespace

core::Result<CronSchedule> CronSchedule::Parse(const std::string& text) {
  std::stringstream in(text);
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  if (fields.size() != 5) {
    return core::Status::InvalidArgument("cron \"" + text +
                                         "\": expected 5 fields (minute hour day month weekday)");
  }
  CronSchedule c;
  c.text_ = text;
  bool star = false;
  static constexpr const char* kNames[] = {"minute", "hour", "day-of-month", "month",
                                           "day-of-week"};
  static constexpr int kLo[] = {0, 0, 1, 1, 0};
  static constexpr int kHi[] = {59, 23, 31, 12, 7};
  std::vector<bool>* bits[] = {&c.minutes_, &c.hours_, &c.days_, &c.months_, &c.weekdays_};
  for (int i = 0; i < 5; ++i) {
    if (!ParseField(fields[i], i, kLo[i], kHi[i], *bits[i], star)) {
      return core::Status::InvalidArgument("cron \"" + text + "\": invalid " + kNames[i] +
                                           " field \"" + fields[i] + "\"");
    }
    if (i == 2) c.day_star_ = star;
    if (i == 4) c.weekday_star_ = star;
  }
  return c;
}

bool CronSchedule::FiresAt(TimePoint t) const {
  const std::tm tm = Utc(t);
  if (!minutes_[tm.tm_min] || !hours_[tm.tm_hour] || !months_[tm.tm_mon + 1]) return false;
  const bool dom = days_[tm.tm_mday];
  const bool dow = weekdays_[tm.tm_wday];
  if (day_star_ || weekday_star_) return dom && dow;
  return dom || dow;
}

std::optional<TimePoint> CronSchedule::LastFiring(TimePoint t, minutes lookback) const {
  const TimePoint start = FloorMinute(t);
  for (minutes back{0}; back < lookback; ++back) {
    if (FiresAt(start - back)) return start - back;
  }
  return std::nullopt;
}

std::optional<TimePoint> CronSchedule::NextFiring(TimePoint t) const {
  TimePoint m = FloorMinute(t) + minutes(1);
  for (int i = 0; i < 366 * 24 * 60; ++i, m += minutes(1)) {
    if (FiresAt(m)) return m;
  }
  return std::nullopt;
}

MaintenanceWindows::MaintenanceWindows(std::vector<WindowConfig> windows,
                                       std::set<std::string> clusters)
    : windows_(std::move(windows)), clusters_(std::move(clusters)) {}

bool MaintenanceWindows::Active(const std::string& cluster, TimePoint now, std::string* why) const {
  const core::MutexLock lock(mu_);
  return ActiveLocked(cluster, now, why);
}

bool MaintenanceWindows::ActiveLocked(const std::string& cluster, TimePoint now,
                                      std::string* why) const {
  for (const std::string& key : {cluster, std::string()}) {
    const auto it = manual_.find(key);
    if (it != manual_.end() && now < it->second.until) {
      if (why) *why = "manual until " + FormatRfc3339(it->second.until) + ": " + it->second.reason;
      return true;
    }
  }
  for (const auto& w : windows_) {
    if (!w.cluster.empty() && w.cluster != cluster) continue;
    const auto lookback = std::chrono::ceil<minutes>(w.duration);
    const auto start = w.cron.LastFiring(now, lookback);
    if (start && now < *start + w.duration) {
      if (why) *why = "cron \"" + w.cron.text() + "\" for " + config::FormatDuration(w.duration);
      return true;
    }
  }
  return false;
}

core::Status MaintenanceWindows::Open(const std::string& cluster,
                                      std::chrono::milliseconds duration, const std::string& reason,
                                      TimePoint now) {
  const std::string key = cluster == "*" ? "" : cluster;
  if (!key.empty() && !clusters_.empty() && !clusters_.count(key)) {
    return core::Status::NotFound("unknown cluster \"" + cluster + "\"");
  }
  if (duration <= std::chrono::milliseconds::zero()) {
    return core::Status::InvalidArgument("duration must be positive");
  }
  const core::MutexLock lock(mu_);
  manual_[key] = Manual{now + duration, reason};
  return core::Status::OK();
}

core::Status MaintenanceWindows::Close(const std::string& cluster) {
  const std::string key = cluster == "*" ? "" : cluster;
  const core::MutexLock lock(mu_);
  if (manual_.erase(key) == 0) {
    return core::Status::NotFound("no manual maintenance window open for \"" + cluster + "\"");
  }
  return core::Status::OK();
}

void MaintenanceWindows::AdoptManual(const MaintenanceWindows& other) {
  const core::MutexLock lock(mu_);
  const core::MutexLock other_lock(other.mu_);
  manual_ = other.manual_;
}

std::vector<MaintenanceWindows::ManualWindow> MaintenanceWindows::OpenManual(TimePoint now) const {
  const core::MutexLock lock(mu_);
  std::vector<ManualWindow> out;
  for (const auto& [cluster, m] : manual_) {
    if (now < m.until) out.push_back({cluster, m.until, m.reason});
  }
  return out;
}

void MaintenanceWindows::RestoreManual(const std::vector<ManualWindow>& windows) {
  const core::MutexLock lock(mu_);
  for (const auto& w : windows) {
    if (!w.cluster.empty() && !clusters_.empty() && !clusters_.count(w.cluster)) continue;
    manual_[w.cluster] = Manual{w.until, w.reason};
  }
}

namespace {

http::HttpResponse JsonResponse(int status, const nlohmann::json& body) {
  return http::HttpResponse{status, "application/json", body.dump()};
}

http::HttpResponse JsonError(int status, const std::string& msg) {
  return JsonResponse(status, {{"status", "error"}, {"error", msg}});
}

}  // namespace

http::HttpResponse MaintenanceWindows::HandlePost(const http::HttpRequest& request, TimePoint now) {
  const auto body = nlohmann::json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return JsonError(400, "body must be a JSON object");
  for (const auto& [k, v] : body.items()) {
    if (k != "action" && k != "cluster" && k != "duration" && k != "reason") {
      return JsonError(400,
                       "unknown key \"" + k + "\" (allowed: action, cluster, duration, reason)");
    }
    if (!v.is_string()) return JsonError(400, "\"" + k + "\" must be a string");
  }
  const std::string action = body.value("action", "");
  const std::string cluster = body.value("cluster", "");
  if (cluster.empty()) return JsonError(400, "\"cluster\" is required (\"*\" for every cluster)");
  core::Status st;
  if (action == "open") {
    const auto duration = config::ParseDuration(body.value("duration", "1h"));
    if (!duration.ok()) return JsonError(400, "duration: " + duration.status().message());
    const std::string reason = body.value("reason", "opened through the API");
    st = Open(cluster, *duration, reason, now);
    if (st.ok()) {
      core::Log(core::LogLevel::kInfo, "maintenance window opened",
                {{"cluster", cluster},
                 {"duration", config::FormatDuration(*duration)},
                 {"reason", reason}});
    }
  } else if (action == "close") {
    st = Close(cluster);
    if (st.ok())
      core::Log(core::LogLevel::kInfo, "maintenance window closed", {{"cluster", cluster}});
  } else {
    return JsonError(400, "\"action\" must be \"open\" or \"close\"");
  }
  if (!st.ok())
    return JsonError(st.code() == core::Status::Code::kNotFound ? 404 : 400, st.message());
  return HandleGet(now);
}

http::HttpResponse MaintenanceWindows::HandleGet(TimePoint now) const {
  return JsonResponse(200, {{"status", "success"}, {"data", Json(now)}});
}

nlohmann::json MaintenanceWindows::Json(TimePoint now) const {
  const core::MutexLock lock(mu_);
  nlohmann::json clusters = nlohmann::json::array();
  for (const auto& c : clusters_) {
    std::string why;
    const bool active = ActiveLocked(c, now, &why);
    clusters.push_back({{"cluster", c}, {"active", active}, {"window", active ? why : ""}});
  }
  nlohmann::json windows = nlohmann::json::array();
  for (const auto& w : windows_) {
    const auto next = w.cron.NextFiring(now);
    windows.push_back({{"kind", "cron"},
                       {"cluster", w.cluster.empty() ? "*" : w.cluster},
                       {"cron", w.cron.text()},
                       {"duration", config::FormatDuration(w.duration)},
                       {"reason", w.reason},
                       {"next_start", next ? FormatRfc3339(*next) : ""}});
  }
  for (const auto& [cluster, m] : manual_) {
    if (now >= m.until) continue;
    windows.push_back({{"kind", "manual"},
                       {"cluster", cluster.empty() ? "*" : cluster},
                       {"until", FormatRfc3339(m.until)},
                       {"reason", m.reason}});
  }
  return {{"clusters", clusters}, {"windows", windows}};
}

void MaintenanceWindows::CollectMetrics(core::MetricSet& out, TimePoint now) const {
  const core::MutexLock lock(mu_);
  for (const auto& c : clusters_) {
    out.Gauge("pgdr_maintenance_active",
              "1 while a maintenance window (configured or opened through the API) covers the "
              "cluster: automatic actions are held back.",
              {{"cluster", c}}, ActiveLocked(c, now, nullptr) ? 1 : 0);
  }
}

}  // namespace pgdr::actions

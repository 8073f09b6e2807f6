// Maintenance windows: while one is active for a cluster, no action
// (failover, redirect, exec, webhook action) runs for it, and
// pgdr_maintenance_active{cluster} is 1 so that the shipped
// PgdrMaintenanceWindowActive alert can inhibit pages in Alertmanager.
//
// Windows come from the `maintenance:` config section (cron schedules in UTC
// with a duration) and from the HTTP API (POST /api/v1/maintenance opens or
// closes a window by hand; GET lists them). A manual window closes itself
// after its duration, so a forgotten one cannot hold back failover forever.
//
// Thread-safety: MaintenanceWindows is safe from any thread (one mutex).
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pgdr/actions/alert.h"
#include "pgdr/core/metric_set.h"
#include "pgdr/core/mutex.h"
#include "pgdr/core/status.h"
#include "pgdr/http/server.h"

namespace pgdr::actions {

// A five-field cron expression (minute hour day-of-month month day-of-week)
// with `*`, lists, ranges, steps and names (JAN..DEC, SUN..SAT; 7 is Sunday).
// As in cron, when both day fields are restricted either may match.
class CronSchedule {
 public:
  static core::Result<CronSchedule> Parse(const std::string& text);
  // Whether the schedule fires at the minute containing `t` (UTC).
  bool FiresAt(TimePoint t) const;
  // The latest firing minute in (t - lookback, t], if any.
  std::optional<TimePoint> LastFiring(TimePoint t, std::chrono::minutes lookback) const;
  // The next firing minute strictly after t, searched up to a year ahead.
  std::optional<TimePoint> NextFiring(TimePoint t) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::vector<bool> minutes_, hours_, days_, months_, weekdays_;
  bool day_star_ = true, weekday_star_ = true;
};

struct WindowConfig {
  std::string cluster;  // empty: every cluster
  CronSchedule cron;
  std::chrono::milliseconds duration{};
  std::string reason;
};

class MaintenanceWindows {
 public:
  // REQUIRES: every window's duration is positive (the config loader checks).
  MaintenanceWindows(std::vector<WindowConfig> windows, std::set<std::string> clusters);

  // Whether a window covers `cluster` at `now`; `why` (when non-null) gets a
  // short description of the window ("cron 0 2 * * SUN for 2h", "manual: ...").
  bool Active(const std::string& cluster, TimePoint now, std::string* why = nullptr) const;

  // Opens a manual window for `cluster` ("*" or empty: every cluster) until now + duration.
  core::Status Open(const std::string& cluster, std::chrono::milliseconds duration,
                    const std::string& reason, TimePoint now);
  // Closes the manual window of `cluster`; NotFound when none is open.
  core::Status Close(const std::string& cluster);

  // Copies the manual windows of `other` (a config reload keeps them).
  void AdoptManual(const MaintenanceWindows& other);

  // A manual window as the state file keeps it (cluster "" is every cluster).
  struct ManualWindow {
    std::string cluster;
    TimePoint until;
    std::string reason;
  };
  // The manual windows still open at `now`.
  std::vector<ManualWindow> OpenManual(TimePoint now) const;
  // Reopens windows read back after a restart; those of clusters no longer
  // configured are dropped.
  void RestoreManual(const std::vector<ManualWindow>& windows);

  // POST /api/v1/maintenance, JSON body:
  //   {"action":"open","cluster":"prod","duration":"30m","reason":"upgrade"}
  //   {"action":"close","cluster":"prod"}
  http::HttpResponse HandlePost(const http::HttpRequest& request, TimePoint now);
  // GET /api/v1/maintenance: {"status":"success","data":{"clusters":[...],"windows":[...]}}.
  http::HttpResponse HandleGet(TimePoint now) const;
  // HandleGet's "data": {"clusters":[{cluster, active, window}], "windows":[{kind, cluster,
  // cron, duration, reason, next_start} or {kind: "manual", cluster, until, reason}]}.
  nlohmann::json Json(TimePoint now) const;

  // pgdr_maintenance_active{cluster} for every known cluster.
  void CollectMetrics(core::MetricSet& out, TimePoint now) const;

 private:
  struct Manual {
    TimePoint until;
    std::string reason;
  };
  bool ActiveLocked(const std::string& cluster, TimePoint now, std::string* why) const
      PGDR_REQUIRES(mu_);

  const std::vector<WindowConfig> windows_;
  const std::set<std::string> clusters_;
  mutable core::Mutex mu_;
  std::map<std::string, Manual> manual_ PGDR_GUARDED_BY(mu_);  // key "" is every cluster
};

}  // namespace pgdr::actions

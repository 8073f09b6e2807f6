// DecisionLog: the recent decisions of the action engine (failover,
// redirect, webhook and exec actions, dry runs and refusals included), kept
// so that the status page and GET /api/v1/decisions can show an on-call
// engineer what pgdr did or would have done, why, and on which evidence,
// without reading the exporter's log.
//
// Bounded twice: at most `capacity` entries (oldest dropped first) and none
// older than `window` (24 h by default) is returned. The structured log line
// and the counters stay the record of every decision; this is the view.
//
// Thread-safety: safe from any thread (one leaf mutex: nothing else is
// locked while it is held), so the evaluator records while HTTP workers read.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pgdr/actions/alert.h"
#include "pgdr/core/mutex.h"

namespace pgdr::actions {

struct Decision {
  TimePoint at;
  std::string cluster;
  std::string action;   // failover, redirect, webhook, exec
  std::string trigger;  // the trigger's name
  std::string alertname;
  // dry_run, refused, started, success, failed, waiting (a failover whose
  // guards wait for confirmation), dropped (the engine stopped first).
  std::string result;
  std::string reason;   // machine-readable (failover.h's reasons, "maintenance", ...)
  std::string summary;  // one human sentence: "would promote demo-2, 0 B behind"
  std::map<std::string, std::string> evidence;  // candidate, lag_bytes, old_primary, ...
};

class DecisionLog {
 public:
  static constexpr size_t kDefaultCapacity = 500;
  static constexpr std::chrono::hours kDefaultWindow{24};

  explicit DecisionLog(size_t capacity = kDefaultCapacity,
                       std::chrono::milliseconds window = kDefaultWindow);

  void Record(Decision decision) PGDR_EXCLUDES(mu_);
  // Decisions made in (now - window, now], newest first.
  std::vector<Decision> Recent(TimePoint now) const PGDR_EXCLUDES(mu_);
  // Appends `other`'s entries before this log's own (a reload keeps history).
  void Adopt(const DecisionLog& other) PGDR_EXCLUDES(mu_);

 private:
  const size_t capacity_;
  const std::chrono::milliseconds window_;
  mutable core::Mutex mu_;
  std::deque<Decision> entries_ PGDR_GUARDED_BY(mu_);  // oldest first
};

// One decision as JSON: {"time", "cluster", "action", "trigger", "alertname",
// "result", "reason", "summary", "evidence": {...}}.
nlohmann::json DecisionJson(const Decision& d);

// The body of GET /api/v1/decisions: {"status":"success","data":{"decisions":[...]}}.
nlohmann::json DecisionsJson(const std::vector<Decision>& decisions);

}  // namespace pgdr::actions

#include "app/status_views.h"

#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>

#include "pgdr/core/time_format.h"

namespace pgdr::app {
namespace {

std::string Rfc3339(std::chrono::system_clock::time_point t) {
  return core::FormatRfc3339(t, core::Fraction::kNone);
}

std::string Role(const collect::TargetResult& t) {
  if (t.key.starts_with("pooler/")) return "pgbouncer";
  if (!t.facts.up || !t.facts.in_recovery) return "unknown";
  return *t.facts.in_recovery ? "replica" : "primary";
}

}  // namespace

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

}  // namespace pgdr::app

// The status page at "/": a DR console for the on-call engineer. Per
// cluster the verdict (verdict.h: can it lose a node, a region, its data?),
// RPO per scope, sparklines of lag and RPO over the local TSDB's window,
// the members and, in their own table, the PgBouncers; then the firing and
// pending alerts with links to their runbooks, the action engine's decisions
// of the last 24 h with reason and evidence (dry runs included), and the
// active and upcoming maintenance windows.
//
// Server-rendered HTML with inline CSS and no external assets; it works
// without JavaScript (a "refresh" link), and a three-line script reloads it
// every 5 s (?refresh=0 turns that off). Every figure shown is also in
// /metrics or an /api/v1 endpoint: /api/v1/status (StatusJson) carries the
// verdicts and the sparklines' samples, /api/v1/decisions the decisions,
// /api/v1/alerts and /api/v1/maintenance the rest.
//
// Thread-safety: pure functions over the inputs; the TSDB is internally
// synchronised.
#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/store_poller.h"
#include "pgdr/actions/decision_log.h"
#include "pgdr/actions/read_pools.h"
#include "pgdr/collect/snapshot.h"
#include "pgdr/rules/manager.h"
#include "pgdr/tsdb/tsdb.h"

namespace pgdr::app {

struct ConsoleInputs {
  std::shared_ptr<const collect::Snapshot> snapshot;  // null before the first composition
  std::vector<std::shared_ptr<const StorePoll>> stores;
  std::vector<rules::ManagedAlert> alerts;
  std::vector<actions::Decision> decisions;  // newest first
  nlohmann::json maintenance;                // MaintenanceWindows::Json
  std::vector<actions::ReadPoolView> read_pools;
  const tsdb::Storage* history = nullptr;  // the local TSDB; null: no sparklines
  std::chrono::milliseconds history_window{std::chrono::hours(1)};
  std::string version;
  std::chrono::system_clock::time_point now;
  bool auto_refresh = true;
};

// The families the sparklines read from the TSDB; the exporter keeps them
// there whenever rules run (the TSDB is only fed then).
const std::vector<std::string>& ConsoleHistoryFamilies();

std::string ConsolePageHtml(const ConsoleInputs& in);

// GET /api/v1/status: {"status":"success","data":{"composedAt", "clusters":[VerdictJson
// plus "history": {"<series>": [[unix seconds, value], ...]}]}}.
nlohmann::json StatusJson(const ConsoleInputs& in);

}  // namespace pgdr::app

// The exporter's HTTP endpoints: the metrics page, /-/healthy, /-/ready,
// /-/reload, the Prometheus-shaped /api/v1/{targets,rules,alerts}, the
// maintenance and actions APIs, /api/v1/drills, /api/v1/status and
// /api/v1/decisions (the DR console's figures), the status page and the
// runbooks (/runbooks/<AlertName>), and the load balancers' health checks
// (health_routes.h). Every handler reads through the accessors
// below, so it sees the engines a reload swapped in.
//
// Thread-safety: the accessors are called from HTTP worker threads and must
// be thread-safe; they must outlive the server.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "app/store_poller.h"
#include "pgdr/actions/engine.h"
#include "pgdr/actions/read_pools.h"
#include "pgdr/collect/snapshot.h"
#include "pgdr/core/status.h"
#include "pgdr/http/server.h"
#include "pgdr/rules/manager.h"
#include "pgdr/tsdb/tsdb.h"

namespace pgdr::app {

// Requests refused because their endpoint is disabled by a flag: the
// counters behind pgdr_http_requests_refused_total{reason}.
struct RefusedRequests {
  std::atomic<double> lifecycle_disabled{0};  // /-/reload without --web.enable-lifecycle
  std::atomic<double> admin_api_disabled{
      0};  // a mutating /api/v1 call without --web.enable-admin-api
};

struct HttpViews {
  std::string telemetry_path;
  std::string version;
  std::function<std::shared_ptr<const collect::Snapshot>()> snapshot;  // null before the first
  std::function<std::shared_ptr<rules::RuleManager>()> rules;
  std::function<std::shared_ptr<actions::ActionEngine>()> actions;
  std::function<core::Status()> reload;
  // The latest poll of every backup store of the running config.
  std::function<std::vector<std::shared_ptr<const StorePoll>>()> stores;
  const tsdb::Storage* history = nullptr;  // the local TSDB (the console's sparklines)
  std::chrono::milliseconds history_window{std::chrono::hours(1)};
  std::function<std::string()> drills;  // /api/v1/drills JSON
  // Mutating endpoints are off unless enabled, as in Prometheus: /-/reload
  // (--web.enable-lifecycle) and every non-GET /api/v1 call
  // (--web.enable-admin-api). A refusal is a 403 counted in *refused.
  bool enable_lifecycle = false;
  bool enable_admin_api = false;
  RefusedRequests* refused = nullptr;  // not owned; must outlive the server
  std::string default_member;          // --web.member: the un-prefixed health checks' member
  std::function<std::vector<actions::ReadPoolView>()> read_pools;  // the status page's
  // After a mutation the state file keeps (a maintenance window); may be empty.
  std::function<void()> state_changed;
};

void RouteHttp(http::HttpServer& server, const HttpViews& views);

}  // namespace pgdr::app

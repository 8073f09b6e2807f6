// The exporter's HTTP endpoints: the metrics page, /-/healthy, /-/ready,
// /-/reload, the Prometheus-shaped /api/v1/{targets,rules,alerts}, /api/v1/drills, the
// maintenance API and the status page. Every handler reads through the
// accessors below, so it sees the engines a reload swapped in.
//
// Thread-safety: the accessors are called from HTTP worker threads and must
// be thread-safe; they must outlive the server.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "pgdr/actions/engine.h"
#include "pgdr/collect/snapshot.h"
#include "pgdr/core/status.h"
#include "pgdr/http/server.h"
#include "pgdr/rules/manager.h"

namespace pgdr::app {

struct HttpViews {
  std::string telemetry_path;
  std::string version;
  std::function<std::shared_ptr<const collect::Snapshot>()> snapshot;  // null before the first
  std::function<std::shared_ptr<rules::RuleManager>()> rules;
  std::function<std::shared_ptr<actions::ActionEngine>()> actions;
  std::function<core::Status()> reload;
  std::function<std::string()> drills;  // /api/v1/drills JSON
};

void RouteHttp(http::HttpServer& server, const HttpViews& views);

}  // namespace pgdr::app

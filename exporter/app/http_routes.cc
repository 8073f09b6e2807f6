#include "app/http_routes.h"

#include <cstring>

#include "app/health_routes.h"
#include "app/runbooks.h"
#include "app/statements_json.h"
#include "app/status_page.h"
#include "app/status_views.h"

namespace pgdr::app {
namespace {

ConsoleInputs Console(const HttpViews& views) {
  ConsoleInputs in;
  in.now = std::chrono::system_clock::now();
  in.snapshot = views.snapshot();
  in.stores = views.stores();
  in.alerts = views.rules()->Alerts();
  if (auto engine = views.actions()) {
    in.decisions = engine->history().Recent(in.now);
    in.maintenance = engine->maintenance().Json(in.now);
  }
  if (views.read_pools) in.read_pools = views.read_pools();
  in.history = views.history;
  in.history_window = views.history_window;
  in.version = views.version;
  return in;
}

bool Reads(const http::HttpRequest& req) { return req.method == "GET" || req.method == "HEAD"; }

http::HttpResponse Disabled(std::atomic<double>* counter, const char* what) {
  if (counter != nullptr) counter->fetch_add(1);
  return http::HttpResponse{403, "text/plain; charset=utf-8",
                            std::string(what) + " is not enabled.\n"};
}

// An /api/v1 handler whose non-GET requests need --web.enable-admin-api.
template <typename Handler>
http::HttpHandler AdminGated(const HttpViews& views, Handler handler) {
  return [views, handler](const http::HttpRequest& req) {
    if (!views.enable_admin_api && !Reads(req)) {
      return Disabled(views.refused ? &views.refused->admin_api_disabled : nullptr,
                      "Admin API (--web.enable-admin-api)");
    }
    return handler(req);
  };
}

}  // namespace

void RouteHttp(http::HttpServer& server, const HttpViews& views) {
  server.Route(views.telemetry_path, [views](const http::HttpRequest&) {
    auto s = views.snapshot();
    if (!s)
      return http::HttpResponse{503, "text/plain; charset=utf-8", "no collection finished yet\n"};
    return http::HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", s->text};
  });
  server.Route("/-/healthy", [](const http::HttpRequest&) {
    return http::HttpResponse{200, "text/plain; charset=utf-8", "Healthy.\n"};
  });
  server.Route("/-/ready", [views](const http::HttpRequest&) {
    return views.snapshot() ? http::HttpResponse{200, "text/plain; charset=utf-8", "Ready.\n"}
                            : http::HttpResponse{503, "text/plain; charset=utf-8", "Not ready.\n"};
  });
  server.Route("/-/reload", [views](const http::HttpRequest& req) {
    if (!views.enable_lifecycle) {
      return Disabled(views.refused ? &views.refused->lifecycle_disabled : nullptr,
                      "Lifecycle API (--web.enable-lifecycle)");
    }
    if (req.method != "POST" && req.method != "PUT") {
      return http::HttpResponse{405, "text/plain; charset=utf-8",
                                "Only POST or PUT requests allowed.\n"};
    }
    core::Status s = views.reload();
    if (!s.ok()) {
      return http::HttpResponse{500, "text/plain; charset=utf-8",
                                "failed to reload config: " + s.message() + "\n"};
    }
    return http::HttpResponse{200, "text/plain; charset=utf-8", ""};
  });
  server.Route("/api/v1/targets", [views](const http::HttpRequest&) {
    auto s = views.snapshot();
    return http::HttpResponse{200, "application/json", TargetsJson(s ? *s : collect::Snapshot{})};
  });
  server.Route("/api/v1/statements", [views](const http::HttpRequest&) {
    auto s = views.snapshot();
    return http::HttpResponse{200, "application/json",
                              StatementsJson(s ? *s : collect::Snapshot{})};
  });
  server.Route("/api/v1/rules", [views](const http::HttpRequest&) {
    return http::HttpResponse{200, "application/json", views.rules()->RulesJson().dump()};
  });
  server.Route("/api/v1/alerts", [views](const http::HttpRequest&) {
    return http::HttpResponse{200, "application/json", views.rules()->AlertsJson().dump()};
  });
  server.Route("/api/v1/actions", AdminGated(views, [views](const http::HttpRequest& req) {
                 return views.actions()->HandleActions(req);
               }));
  server.Route("/api/v1/drills", [views](const http::HttpRequest&) {
    return http::HttpResponse{200, "application/json", views.drills()};
  });
  server.Route("/api/v1/actions/region/approve",
               AdminGated(views, [views](const http::HttpRequest& req) {
                 return views.actions()->HandleRegionApprove(req);
               }));
  server.Route("/api/v1/maintenance", AdminGated(views, [views](const http::HttpRequest& req) {
                 http::HttpResponse response = views.actions()->HandleMaintenance(req);
                 // Kept before the answer: a crash after "accepted" must not lose it.
                 if (req.method == "POST" && response.status == 200 && views.state_changed) {
                   views.state_changed();
                 }
                 return response;
               }));
  server.Route("/api/v1/status", [views](const http::HttpRequest&) {
    return http::HttpResponse{200, "application/json", StatusJson(Console(views)).dump()};
  });
  server.Route("/api/v1/decisions", [views](const http::HttpRequest&) {
    const auto engine = views.actions();
    const auto decisions = engine ? engine->history().Recent(std::chrono::system_clock::now())
                                  : std::vector<actions::Decision>{};
    return http::HttpResponse{200, "application/json", actions::DecisionsJson(decisions).dump()};
  });
  RouteHealthChecks(server, HealthViews{views.snapshot, views.default_member});
  server.Route("/runbooks", [](const http::HttpRequest&) { return RunbookIndexPage(); });
  server.RoutePrefix("/runbooks/", [](const http::HttpRequest& req) {
    const std::string_view name = std::string_view(req.path).substr(std::strlen("/runbooks/"));
    return name.empty() ? RunbookIndexPage() : RunbookPage(name);
  });
  server.Route("/", [views](const http::HttpRequest& req) {
    ConsoleInputs in = Console(views);
    in.auto_refresh = http::QueryParam(req.query, "refresh") != "0";
    return http::HttpResponse{200, "text/html; charset=utf-8", ConsolePageHtml(in)};
  });
}

}  // namespace pgdr::app

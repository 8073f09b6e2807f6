#include "app/health_routes.h"

#include <cstring>
#include <nlohmann/json.hpp>
#include <string_view>

#include "pgdr/collect/member_health.h"
#include "pgdr/core/time_format.h"

namespace pgdr::app {
namespace {

using collect::HealthCheck;
using collect::MemberHealth;

constexpr const char* kJson = "application/json";

http::HttpResponse Refuse(int status, const std::string& why) {
  return http::HttpResponse{status, kJson, nlohmann::json{{"error", why}}.dump() + "\n"};
}

const char* RoleName(collect::MemberRole role) {
  switch (role) {
    case collect::MemberRole::kPrimary:
      return "primary";
    case collect::MemberRole::kReplica:
      return "replica";
    case collect::MemberRole::kUnknown:
      break;
  }
  return "unknown";
}

nlohmann::json Body(const MemberHealth& m) {
  nlohmann::json body = {
      {"cluster", m.cluster},
      {"member", m.member},
      {"state", m.up ? "running" : "unreachable"},
      {"role", RoleName(m.role)},
      {"collected_at", core::FormatRfc3339(m.collected_at, core::Fraction::kMilliseconds)},
  };
  if (m.role == collect::MemberRole::kPrimary && !m.cluster_primary) {
    body["note"] = "answers as primary but is not the cluster's most advanced primary";
  }
  if (m.lag_bytes) body["lag_bytes"] = *m.lag_bytes;
  if (m.lag_seconds) body["lag_seconds"] = *m.lag_seconds;
  return body;
}

// The answer to `check` for cluster/member in the latest snapshot.
http::HttpResponse Answer(const HealthViews& views, const std::string& cluster,
                          const std::string& member, HealthCheck check,
                          const http::HttpRequest& req) {
  const auto bound = collect::ParseLagBound(http::QueryParam(req.query, "lag"));
  if (!bound.ok()) return Refuse(400, bound.status().message());
  const auto snapshot = views.snapshot();
  if (!snapshot) return Refuse(503, "no collection finished yet");
  const auto members = collect::MembersHealth(*snapshot);
  const MemberHealth* found = nullptr;
  size_t matching = 0;
  for (const auto& m : members) {
    const bool named = !cluster.empty() || !member.empty();
    if (named && !((cluster.empty() || m.cluster == cluster) && m.member == member)) continue;
    found = &m;
    ++matching;
  }
  if (matching == 0) return Refuse(404, "no such member: " + cluster + "/" + member);
  if (matching > 1) {
    return Refuse(400,
                  "pgdr watches several members: use /member/<cluster>/<member>/..., "
                  "?cluster=&member= or --web.member");
  }
  const bool pass = collect::Passes(*found, check, *bound);
  return http::HttpResponse{pass ? 200 : 503, kJson, Body(*found).dump() + "\n"};
}

// "<cluster>/<member>/<check>" split in three; false when not that shape.
bool SplitMemberPath(std::string_view rest, std::string& cluster, std::string& member,
                     std::string& check) {
  const size_t a = rest.find('/');
  if (a == std::string_view::npos) return false;
  const size_t b = rest.find('/', a + 1);
  if (b == std::string_view::npos || rest.find('/', b + 1) != std::string_view::npos) return false;
  cluster = rest.substr(0, a);
  member = rest.substr(a + 1, b - a - 1);
  check = rest.substr(b + 1);
  return !cluster.empty() && !member.empty();
}

}  // namespace

void RouteHealthChecks(http::HttpServer& server, const HealthViews& views) {
  for (const char* name : {"primary", "replica", "read-only", "health"}) {
    const HealthCheck check = *collect::ParseHealthCheck(name);
    server.Route(std::string("/") + name, [views, check](const http::HttpRequest& req) {
      std::string cluster = http::QueryParam(req.query, "cluster");
      std::string member = http::QueryParam(req.query, "member");
      if (member.empty() && !views.default_member.empty()) {
        const size_t slash = views.default_member.find('/');
        cluster = views.default_member.substr(0, slash);
        member = views.default_member.substr(slash + 1);
      }
      return Answer(views, cluster, member, check, req);
    });
  }
  server.RoutePrefix("/member/", [views](const http::HttpRequest& req) {
    std::string cluster, member, check_name;
    if (!SplitMemberPath(std::string_view(req.path).substr(std::strlen("/member/")), cluster,
                         member, check_name)) {
      return Refuse(404, "want /member/<cluster>/<member>/{primary,replica,read-only,health}");
    }
    const auto check = collect::ParseHealthCheck(check_name);
    if (!check) return Refuse(404, "no such check: " + check_name);
    return Answer(views, cluster, member, *check, req);
  });
}

}  // namespace pgdr::app

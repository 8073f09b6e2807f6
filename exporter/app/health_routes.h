// Load balancers' health checks, Patroni-compatible: 200 when the member
// passes, 503 when it does not (HAProxy's `option httpchk` and most cloud
// balancers need nothing else). Per member:
//   /member/<cluster>/<member>/{primary,replica,read-only,health}[?lag=10MB|5s]
// and, for a pgdr that watches one member or is started with
// --web.member=<cluster>/<member> (one pgdr beside each server, as Patroni
// runs), the same checks un-prefixed: /primary, /replica, /read-only,
// /health, where ?cluster=&member= can also name the member.
//
// Every answer comes from the latest published snapshot (see
// pgdr/collect/member_health.h): a check never queries a database, and is
// at most one collection interval behind.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "pgdr/collect/snapshot.h"
#include "pgdr/http/server.h"

namespace pgdr::app {

struct HealthViews {
  std::function<std::shared_ptr<const collect::Snapshot>()> snapshot;  // null before the first
  std::string default_member;  // --web.member, "<cluster>/<member>"; may be empty
};

void RouteHealthChecks(http::HttpServer& server, const HealthViews& views);

}  // namespace pgdr::app

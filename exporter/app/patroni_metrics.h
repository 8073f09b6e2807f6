// Patroni's REST answers (GET /patroni of each member, GET /cluster of any)
// as pgdr_patroni_* series with `cluster`/`member` labels: what Patroni
// itself thinks of the cluster, next to what pgdr sees in PostgreSQL.
//
// Why a pure function of the bodies: the poller does the I/O; this is the
// part whose values must match `patronictl list`, and it is tested alone.
//
// Series: pgdr_patroni_up{cluster,url} (the member API answered);
// from /cluster: pgdr_patroni_role{cluster,member,role} 1,
// pgdr_patroni_state{cluster,member,state} 1, pgdr_patroni_timeline,
// pgdr_patroni_replication_lag_bytes, pgdr_patroni_pending_restart
// {cluster,member}, pgdr_patroni_paused{cluster}, pgdr_patroni_members{cluster};
// from /patroni: pgdr_patroni_dcs_last_seen_timestamp_seconds,
// pgdr_patroni_failsafe_active, pgdr_patroni_wal_position_bytes {cluster,member}.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pgdr/core/metric_set.h"

namespace pgdr::app {

struct PatroniMemberAnswer {
  std::string url;                  // redacted, for the `url` label
  std::optional<std::string> body;  // GET /patroni with status 200 (Patroni answers 503 on a
                                    // replica's health check only, not on /patroni)
};

// Adds the series of one poll; a body that is not Patroni's JSON counts as
// the member being down. `cluster_body` is null when no member answered /cluster.
void AddPatroniMetrics(const std::string& cluster, const std::vector<PatroniMemberAnswer>& members,
                       const std::optional<std::string>& cluster_body, core::MetricSet& out);

}  // namespace pgdr::app

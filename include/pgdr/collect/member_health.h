// MemberHealth: what a load balancer's health check asks of one member
// (is it up, is it the primary, is it a replica fresh enough to read from),
// derived from a published Snapshot so that answering a check never touches
// a database: HAProxy checking every 200 ms from several balancers costs the
// servers nothing. The lag is the one /metrics shows
// (pgdr_replication_lag_bytes/_seconds), so a check and an alert agree.
//
// Thread-safety: pure functions over an immutable Snapshot.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgdr/collect/snapshot.h"
#include "pgdr/core/status.h"

namespace pgdr::collect {

enum class MemberRole { kUnknown, kPrimary, kReplica };

struct MemberHealth {
  std::string cluster;
  std::string member;
  bool up = false;
  MemberRole role = MemberRole::kUnknown;
  // The cluster's live primary is this member (of several answering as
  // primary, only the most advanced one, as lag is computed against it).
  bool cluster_primary = false;
  std::optional<double> lag_bytes;    // replicas only
  std::optional<double> lag_seconds;  // replicas only
  std::chrono::system_clock::time_point collected_at;
};

// Every member of the snapshot, in target order.
std::vector<MemberHealth> MembersHealth(const Snapshot& snapshot);

// The most lag a replica may have and still pass: bytes, seconds, or both.
// Unbounded when neither is set.
struct LagBound {
  std::optional<double> bytes;
  std::optional<double> seconds;
};

// "10MB", "512kB", "1048576" (bytes, 1024-based units B kB MB GB TB as in
// PostgreSQL) or a duration ("5s", "500ms", "1m"): Patroni's ?lag= plus
// seconds. Empty: unbounded.
core::Result<LagBound> ParseLagBound(std::string_view text);

enum class HealthCheck { kPrimary, kReplica, kReadOnly, kHealth };

// "primary", "replica", "read-only", "health"; nullopt for anything else.
std::optional<HealthCheck> ParseHealthCheck(std::string_view name);

// Patroni's semantics: kHealth passes when the member is up; kPrimary when
// it is the cluster's live primary; kReplica when it is an up replica whose
// lag is known and within `bound` (an unknown lag fails a bounded check);
// kReadOnly when either of the last two passes.
bool Passes(const MemberHealth& m, HealthCheck check, const LagBound& bound);

}  // namespace pgdr::collect

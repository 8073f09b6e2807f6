#include "pgdr/collect/member_health.h"

#include <map>

#include "pgdr/config/byte_size.h"
#include "pgdr/config/yaml_reader.h"

namespace pgdr::collect {
namespace {

using MemberKey = std::pair<std::string, std::string>;  // cluster, member

std::string LabelValue(const prometheus::ClientMetric& m, std::string_view name) {
  for (const auto& l : m.label) {
    if (l.name == name) return l.value;
  }
  return "";
}

// The gauge `name` of `computed`, by member.
std::map<MemberKey, double> GaugeByMember(const std::vector<prometheus::MetricFamily>& computed,
                                          std::string_view name) {
  std::map<MemberKey, double> out;
  for (const auto& family : computed) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      out[{LabelValue(m, "cluster"), LabelValue(m, "member")}] = m.gauge.value;
    }
  }
  return out;
}

std::optional<double> Find(const std::map<MemberKey, double>& values, const MemberKey& key) {
  const auto it = values.find(key);
  return it == values.end() ? std::nullopt : std::optional<double>(it->second);
}

}  // namespace

std::vector<MemberHealth> MembersHealth(const Snapshot& snapshot) {
  const auto lag_bytes = GaugeByMember(snapshot.computed, "pgdr_replication_lag_bytes");
  const auto lag_seconds = GaugeByMember(snapshot.computed, "pgdr_replication_lag_seconds");
  std::vector<MemberHealth> out;
  out.reserve(snapshot.targets.size());
  for (const auto& t : snapshot.targets) {
    MemberHealth h;
    h.cluster = t->cluster;
    h.member = t->member;
    h.up = t->facts.up;
    h.collected_at = t->collected_at;
    if (h.up && t->facts.in_recovery) {
      h.role = *t->facts.in_recovery ? MemberRole::kReplica : MemberRole::kPrimary;
    }
    if (h.role == MemberRole::kPrimary) {
      const auto p = snapshot.primaries.find(t->cluster);
      h.cluster_primary =
          p != snapshot.primaries.end() && p->second.live && p->second.member == t->member;
    }
    if (h.role == MemberRole::kReplica) {
      const MemberKey key{t->cluster, t->member};
      h.lag_bytes = Find(lag_bytes, key);
      h.lag_seconds = Find(lag_seconds, key);
    }
    out.push_back(std::move(h));
  }
  return out;
}

core::Result<LagBound> ParseLagBound(std::string_view text) {
  LagBound bound;
  if (text.empty()) return bound;
  if (const auto bytes = config::ParseByteSize(text); bytes.ok()) {
    bound.bytes = *bytes;
    return bound;
  }
  const auto duration = config::ParseDuration(text);
  if (!duration.ok()) {
    return core::Status::InvalidArgument(
        "lag: want bytes (\"10MB\") or a duration (\"5s\"), got \"" + std::string(text) + "\"");
  }
  bound.seconds = std::chrono::duration<double>(*duration).count();
  return bound;
}

std::optional<HealthCheck> ParseHealthCheck(std::string_view name) {
  if (name == "primary") return HealthCheck::kPrimary;
  if (name == "replica") return HealthCheck::kReplica;
  if (name == "read-only") return HealthCheck::kReadOnly;
  if (name == "health") return HealthCheck::kHealth;
  return std::nullopt;
}

bool Passes(const MemberHealth& m, HealthCheck check, const LagBound& bound) {
  const auto fresh_replica = [&m, &bound] {
    if (!m.up || m.role != MemberRole::kReplica) return false;
    if (bound.bytes && !(m.lag_bytes && *m.lag_bytes <= *bound.bytes)) return false;
    if (bound.seconds && !(m.lag_seconds && *m.lag_seconds <= *bound.seconds)) return false;
    return true;
  };
  switch (check) {
    case HealthCheck::kHealth:
      return m.up;
    case HealthCheck::kPrimary:
      return m.up && m.cluster_primary;
    case HealthCheck::kReplica:
      return fresh_replica();
    case HealthCheck::kReadOnly:
      return (m.up && m.cluster_primary) || fresh_replica();
  }
  return false;
}

}  // namespace pgdr::collect

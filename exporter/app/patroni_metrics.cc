#include "app/patroni_metrics.h"

#include <map>
#include <nlohmann/json.hpp>

namespace pgdr::app {
namespace {

using nlohmann::json;

std::optional<json> ParseObject(const std::optional<std::string>& body) {
  if (!body) return std::nullopt;
  json j = json::parse(*body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  return j;
}

std::optional<double> Number(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

bool True(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

std::string Text(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void AddClusterSeries(const std::string& cluster, const json& c, core::MetricSet& out) {
  out.Gauge("pgdr_patroni_paused",
            "1 when Patroni's automatic failover is paused (maintenance mode).",
            {{"cluster", cluster}}, True(c, "pause") ? 1 : 0);
  const auto members = c.find("members");
  const bool listed = members != c.end() && members->is_array();
  out.Gauge("pgdr_patroni_members", "Members in Patroni's /cluster answer.", {{"cluster", cluster}},
            listed ? static_cast<double>(members->size()) : 0);
  if (!listed) return;
  for (const json& m : *members) {
    if (!m.is_object()) continue;
    const std::string name = Text(m, "name");
    if (name.empty()) continue;
    const core::Labels labels{{"cluster", cluster}, {"member", name}};
    const auto with = [&labels](const char* key, const std::string& value) {
      core::Labels l = labels;
      l.push_back({key, value});
      return l;
    };
    out.Gauge("pgdr_patroni_role",
              "1 for the member's role in Patroni's /cluster (leader, replica, sync_standby, "
              "standby_leader).",
              with("role", Text(m, "role")), 1);
    out.Gauge("pgdr_patroni_state", "1 for the member's state in Patroni's /cluster.",
              with("state", Text(m, "state")), 1);
    if (auto tl = Number(m, "timeline")) {
      out.Gauge("pgdr_patroni_timeline", "The member's timeline per Patroni.", labels, *tl);
    }
    // Patroni reports "unknown" (a string) when it cannot tell: no series then.
    if (auto lag = Number(m, "lag")) {
      out.Gauge("pgdr_patroni_replication_lag_bytes",
                "A replica's lag behind the leader per Patroni's /cluster, in bytes.", labels,
                *lag);
    }
    out.Gauge("pgdr_patroni_pending_restart",
              "1 when Patroni says the member needs a restart for a parameter change.", labels,
              True(m, "pending_restart") ? 1 : 0);
  }
}

// api_url without its "/patroni" path -> member name, from /cluster.
std::map<std::string, std::string> NamesByApi(const std::optional<json>& c) {
  std::map<std::string, std::string> out;
  if (!c) return out;
  const auto members = c->find("members");
  if (members == c->end() || !members->is_array()) return out;
  for (const json& m : *members) {
    if (!m.is_object()) continue;
    std::string api = Text(m, "api_url");
    if (api.ends_with("/patroni")) api.resize(api.size() - 8);
    if (!api.empty()) out[api] = Text(m, "name");
  }
  return out;
}

}  // namespace

void AddPatroniMetrics(const std::string& cluster, const std::vector<PatroniMemberAnswer>& members,
                       const std::optional<std::string>& cluster_body, core::MetricSet& out) {
  const std::optional<json> c = ParseObject(cluster_body);
  const std::map<std::string, std::string> names = NamesByApi(c);
  for (const PatroniMemberAnswer& a : members) {
    const std::optional<json> p = ParseObject(a.body);
    out.Gauge("pgdr_patroni_up", "1 when the member's Patroni REST API answered GET /patroni.",
              {{"cluster", cluster}, {"url", a.url}}, p ? 1 : 0);
    if (!p) continue;
    // /patroni names its member only in later versions (`patroni.name`);
    // else /cluster does, by api_url; else the url stands for the name.
    std::string name;
    if (const auto pat = p->find("patroni"); pat != p->end() && pat->is_object()) {
      name = Text(*pat, "name");
    }
    if (const auto it = names.find(a.url); name.empty() && it != names.end()) name = it->second;
    const core::Labels labels{{"cluster", cluster}, {"member", name.empty() ? a.url : name}};
    if (auto seen = Number(*p, "dcs_last_seen")) {
      out.Gauge("pgdr_patroni_dcs_last_seen_timestamp_seconds",
                "When the member last reached the DCS (etcd, Consul ...), Unix seconds.", labels,
                *seen);
    }
    out.Gauge("pgdr_patroni_failsafe_active",
              "1 when the member runs in Patroni's failsafe mode (DCS unreachable).", labels,
              True(*p, "failsafe_mode_is_active") ? 1 : 0);
    if (const auto x = p->find("xlog"); x != p->end() && x->is_object()) {
      auto pos = Number(*x, "location");
      if (!pos) pos = Number(*x, "replayed_location");
      if (pos) {
        out.Gauge("pgdr_patroni_wal_position_bytes",
                  "The member's WAL position per /patroni (written on the leader, replayed on a "
                  "replica).",
                  labels, *pos);
      }
    }
  }
  if (c) AddClusterSeries(cluster, *c, out);
}

}  // namespace pgdr::app

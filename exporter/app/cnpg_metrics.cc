#include "app/cnpg_metrics.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "pgdr/store/object_store.h"

namespace pgdr::app {
namespace {

using nlohmann::json;

std::optional<json> Items(const std::optional<std::string>& body) {
  if (!body) return std::nullopt;
  json j = json::parse(*body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  const auto it = j.find("items");
  if (it == j.end() || !it->is_array()) return std::nullopt;
  return *it;
}

const json& Field(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  const auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string Text(const json& j, const char* key) {
  const json& v = Field(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

bool Wanted(const config::CnpgSourceConfig& source, const std::string& cluster) {
  return source.clusters.empty() || std::find(source.clusters.begin(), source.clusters.end(),
                                              cluster) != source.clusters.end();
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// The instances of a Cluster: status.instanceNames, else every pod named in
// status.instancesStatus, sorted.
std::vector<std::string> Instances(const json& status) {
  std::vector<std::string> out;
  for (const auto& n : Field(status, "instanceNames")) {
    if (n.is_string()) out.push_back(n.get<std::string>());
  }
  if (!out.empty()) return out;
  const json& by_state = Field(status, "instancesStatus");
  if (by_state.is_object()) {
    for (const auto& [state, pods] : by_state.items()) {
      for (const auto& p : pods) {
        if (p.is_string()) out.push_back(p.get<std::string>());
      }
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// A replica cluster: spec.replica.enabled, or (enabled unset, the
// distributed topology) spec.replica.primary naming another cluster than
// spec.replica.self.
bool ReplicaMode(const json& spec) {
  const json& replica = Field(spec, "replica");
  if (!replica.is_object()) return false;
  const json& enabled = Field(replica, "enabled");
  if (enabled.is_boolean()) return enabled.get<bool>();
  const std::string primary = Text(replica, "primary");
  return !primary.empty() && primary != Text(replica, "self");
}

// The instances of Cluster `c` (none when source.clusters leaves it out).
void AddInstances(const config::CnpgSourceConfig& source, const std::string& ns, const json& c,
                  std::vector<DiscoveredMember>& out) {
  const std::string name = Text(Field(c, "metadata"), "name");
  if (name.empty() || !Wanted(source, name)) return;
  const json& status = Field(c, "status");
  const std::string primary = Text(status, "currentPrimary");
  for (const auto& pod : Instances(status)) {
    std::string host = Replace(source.host_template, "{pod}", pod);
    host = Replace(Replace(host, "{cluster}", name), "{namespace}", ns);
    out.push_back({pod, host, source.port, pod == primary ? "primary" : "replica", name});
  }
}

void AddTimestamp(core::MetricSet& out, const char* name, const char* help,
                  const core::Labels& labels, const std::string& text) {
  if (const auto t = store::ParseIso8601(text)) out.Gauge(name, help, labels, *t);
}

void AddCluster(const std::string& ns, const json& c, core::MetricSet& out) {
  const json& md = Field(c, "metadata");
  const std::string name = Text(md, "name");
  const json& status = Field(c, "status");
  const json& spec = Field(c, "spec");
  const core::Labels labels{{"namespace", ns}, {"cluster", name}};
  const auto with = [&](const char* key, const std::string& value) {
    core::Labels l = labels;
    l.push_back({key, value});
    return l;
  };
  if (const std::string phase = Text(status, "phase"); !phase.empty()) {
    out.Gauge("pgdr_cnpg_cluster_phase", "1 for the Cluster's status.phase (its label).",
              with("phase", phase), 1);
  }
  for (const auto& [key, metric, help] :
       {std::tuple{"instances", "pgdr_cnpg_cluster_instances",
                   "Instances of the Cluster (status.instances)."},
        std::tuple{"readyInstances", "pgdr_cnpg_cluster_ready_instances",
                   "Ready instances of the Cluster (status.readyInstances)."},
        std::tuple{"timelineID", "pgdr_cnpg_cluster_timeline",
                   "The Cluster's current timeline (status.timelineID)."}}) {
    if (const json& v = Field(status, key); v.is_number()) {
      out.Gauge(metric, help, labels, v.get<double>());
    }
  }
  if (const json& v = Field(spec, "instances"); v.is_number()) {
    out.Gauge("pgdr_cnpg_cluster_spec_instances", "Instances asked for (spec.instances).", labels,
              v.get<double>());
  }
  const std::string current = Text(status, "currentPrimary");
  const std::string target = Text(status, "targetPrimary");
  if (!current.empty()) {
    out.Gauge("pgdr_cnpg_cluster_current_primary",
              "1 for the instance CNPG reports as primary (status.currentPrimary).",
              with("member", current), 1);
  }
  if (!target.empty()) {
    out.Gauge("pgdr_cnpg_cluster_target_primary",
              "1 for the instance CNPG is making primary (status.targetPrimary).",
              with("member", target), 1);
  }
  out.Gauge("pgdr_cnpg_cluster_switchover_pending",
            "1 while status.targetPrimary differs from status.currentPrimary.", labels,
            !target.empty() && target != current ? 1 : 0);
  out.Gauge("pgdr_cnpg_cluster_replica_mode",
            "1 when the Cluster is a replica cluster (spec.replica), following another.", labels,
            ReplicaMode(spec) ? 1 : 0);
  for (const auto& cond : Field(status, "conditions")) {
    if (Text(cond, "type") != "ContinuousArchiving") continue;
    out.Gauge("pgdr_cnpg_cluster_continuous_archiving",
              "1 when the ContinuousArchiving condition is True (WAL archiving works).", labels,
              Text(cond, "status") == "True" ? 1 : 0);
  }
  AddTimestamp(out, "pgdr_cnpg_cluster_last_successful_backup_timestamp_seconds",
               "status.lastSuccessfulBackup, as Unix seconds.", labels,
               Text(status, "lastSuccessfulBackup"));
  AddTimestamp(out, "pgdr_cnpg_cluster_first_recoverability_point_timestamp_seconds",
               "status.firstRecoverabilityPoint (the oldest point a restore can reach).", labels,
               Text(status, "firstRecoverabilityPoint"));
  const json& by_state = Field(status, "instancesStatus");
  if (by_state.is_object()) {
    for (const auto& [state, pods] : by_state.items()) {
      for (const auto& p : pods) {
        if (!p.is_string()) continue;
        core::Labels l = with("member", p.get<std::string>());
        l.push_back({"state", state});
        out.Gauge("pgdr_cnpg_instance_state",
                  "1 for each instance under its state in status.instancesStatus.", l, 1);
      }
    }
  }
}

void AddBackups(const config::CnpgSourceConfig& source, const std::string& ns, const json& items,
                core::MetricSet& out) {
  std::map<std::pair<std::string, std::string>, int> by_phase;  // (cluster, phase) -> count
  std::map<std::string, double> newest;                         // cluster -> stoppedAt
  for (const auto& b : items) {
    const std::string cluster = Text(Field(Field(b, "spec"), "cluster"), "name");
    if (cluster.empty() || !Wanted(source, cluster)) continue;
    const json& status = Field(b, "status");
    std::string phase = Text(status, "phase");
    if (phase.empty()) phase = "pending";  // not yet picked up by the operator
    ++by_phase[{cluster, phase}];
    if (phase == "completed") {
      if (const auto t = store::ParseIso8601(Text(status, "stoppedAt"))) {
        newest[cluster] = std::max(newest[cluster], *t);
      }
    }
  }
  for (const auto& [key, n] : by_phase) {
    out.Gauge("pgdr_cnpg_backups", "Backup objects of the Cluster by status.phase.",
              {{"namespace", ns}, {"cluster", key.first}, {"phase", key.second}}, n);
  }
  for (const auto& [cluster, t] : newest) {
    out.Gauge("pgdr_cnpg_backup_last_completed_timestamp_seconds",
              "The newest completed Backup's status.stoppedAt, as Unix seconds.",
              {{"namespace", ns}, {"cluster", cluster}}, t);
  }
}

}  // namespace

std::optional<std::vector<DiscoveredMember>> CnpgInstances(const config::CnpgSourceConfig& source,
                                                           const CnpgNamespaceAnswer& answer) {
  const auto items = Items(answer.clusters);
  if (!items) return std::nullopt;
  std::vector<DiscoveredMember> out;
  for (const auto& c : *items) AddInstances(source, answer.ns, c, out);
  return out;
}

std::vector<CnpgTarget> CnpgTargets(const config::CnpgSourceConfig& source,
                                    const CnpgNamespaceAnswer& answer) {
  std::vector<CnpgTarget> out;
  const auto items = Items(answer.clusters);
  if (!items) return out;
  const std::string port = std::to_string(source.port);
  for (const auto& c : *items) {
    const std::string name = Text(Field(c, "metadata"), "name");
    if (name.empty() || !Wanted(source, name)) continue;
    std::vector<DiscoveredMember> instances;
    AddInstances(source, answer.ns, c, instances);
    for (const DiscoveredMember& m : instances) {
      out.push_back({answer.ns, name, m.name, m.role, m.host + ":" + port});
    }
    for (const char* svc : {"rw", "ro"}) {
      const std::string service = name + "-" + svc;
      out.push_back({answer.ns, name, service, svc, service + "." + answer.ns + ".svc:" + port});
    }
  }
  return out;
}

void AddCnpgMetrics(const config::CnpgSourceConfig& source, const CnpgNamespaceAnswer& answer,
                    core::MetricSet& out) {
  const auto clusters = Items(answer.clusters);
  const auto backups = Items(answer.backups);
  out.Gauge("pgdr_cnpg_api_up",
            "1 when the Kubernetes API answered the namespace's Cluster and Backup lists.",
            {{"namespace", answer.ns}}, clusters && backups ? 1 : 0);
  if (clusters) {
    for (const auto& c : *clusters) {
      const std::string name = Text(Field(c, "metadata"), "name");
      if (!name.empty() && Wanted(source, name)) AddCluster(answer.ns, c, out);
    }
    for (const auto& t : CnpgTargets(source, answer)) {
      out.Gauge("pgdr_cnpg_discovered_target",
                "1 for each target discovered from a Cluster: its instances' pods and its -rw "
                "and -ro services.",
                {{"namespace", t.ns},
                 {"cluster", t.cluster},
                 {"member", t.member},
                 {"role", t.role},
                 {"address", t.address}},
                1);
    }
  }
  if (backups) AddBackups(source, answer.ns, *backups, out);
}

}  // namespace pgdr::app

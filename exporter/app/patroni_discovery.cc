#include "app/patroni_discovery.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

namespace pgdr::app {
namespace {

using nlohmann::json;

std::string Text(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::optional<PatroniClusterView> ParsePatroniCluster(const std::string& body) {
  const json c = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!c.is_object()) return std::nullopt;
  const auto members = c.find("members");
  if (members == c.end() || !members->is_array()) return std::nullopt;
  PatroniClusterView view;
  if (const auto pause = c.find("pause"); pause != c.end() && pause->is_boolean()) {
    view.paused = pause->get<bool>();
  }
  for (const json& m : *members) {
    if (!m.is_object()) continue;
    PatroniMember member{Text(m, "name"), Text(m, "host"), 0, Text(m, "role")};
    if (const auto port = m.find("port"); port != m.end() && port->is_number_integer()) {
      member.port = port->get<int>();
    }
    if (member.role == "leader" || member.role == "standby_leader") view.leader = member.name;
    // A host that could carry other libpq options (a quote, a backslash,
    // a space) is not one: that member is left out.
    const bool plain_host =
        !member.host.empty() && member.host.find_first_of("'\\ \t\n=") == std::string::npos;
    if (member.name.empty() || !plain_host || member.port <= 0) continue;
    view.members.push_back(std::move(member));
  }
  std::sort(view.members.begin(), view.members.end(),
            [](const PatroniMember& a, const PatroniMember& b) { return a.name < b.name; });
  return view;
}

std::vector<config::TargetConfig> DiscoveredTargets(const config::PatroniSourceConfig& source,
                                                    const std::vector<PatroniMember>& members) {
  std::vector<config::TargetConfig> out;
  if (!source.target_template) return out;
  for (const PatroniMember& m : members) {
    config::TargetConfig t = *source.target_template;
    t.cluster = source.cluster;
    t.member = m.name;
    // ParsePatroniCluster kept only hosts without quotes, backslashes or spaces.
    t.dsn =
        "host='" + m.host + "' port=" + std::to_string(m.port) + (t.dsn.empty() ? "" : " " + t.dsn);
    t.where = source.where + " (discovered from Patroni)";
    out.push_back(std::move(t));
  }
  return out;
}

void AddDiscoveredTargets(const DiscoveredMembers& discovered, config::Config& config) {
  std::set<std::string> keys;
  for (const config::TargetConfig& t : config.targets) keys.insert(t.Key());
  for (const config::PatroniSourceConfig& source : config.patroni) {
    const auto it = discovered.find(source.cluster);
    if (it == discovered.end()) continue;
    for (config::TargetConfig& t : DiscoveredTargets(source, it->second)) {
      if (keys.insert(t.Key()).second) config.targets.push_back(std::move(t));
    }
  }
}

}  // namespace pgdr::app

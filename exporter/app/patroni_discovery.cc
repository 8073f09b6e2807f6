#include "app/patroni_discovery.h"

#include <algorithm>
#include <nlohmann/json.hpp>

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
    DiscoveredMember member{Text(m, "name"), Text(m, "host"), 0, Text(m, "role"), ""};
    if (const auto port = m.find("port"); port != m.end() && port->is_number_integer()) {
      member.port = port->get<int>();
    }
    if (member.role == "leader" || member.role == "standby_leader") view.leader = member.name;
    if (member.name.empty() || !PlainHost(member.host) || member.port <= 0) continue;
    view.members.push_back(std::move(member));
  }
  std::sort(view.members.begin(), view.members.end(),
            [](const DiscoveredMember& a, const DiscoveredMember& b) { return a.name < b.name; });
  return view;
}

}  // namespace pgdr::app

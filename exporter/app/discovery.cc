#include "app/discovery.h"

#include <set>

namespace pgdr::app {

std::string PatroniSourceKey(const std::string& cluster) { return "patroni/" + cluster; }

std::string CnpgSourceKey(size_t index) { return "cnpg/" + std::to_string(index); }

bool PlainHost(const std::string& host) {
  return !host.empty() && host.find_first_of("'\\ \t\n=") == std::string::npos;
}

std::vector<config::TargetConfig> DiscoveredTargets(const config::TargetConfig& target_template,
                                                    const std::string& cluster,
                                                    const std::string& where,
                                                    const std::vector<DiscoveredMember>& members) {
  std::vector<config::TargetConfig> out;
  for (const DiscoveredMember& m : members) {
    if (!PlainHost(m.host) || m.port <= 0 || m.name.empty()) continue;
    config::TargetConfig t = target_template;
    t.cluster = m.cluster.empty() ? cluster : m.cluster;
    t.member = m.name;
    t.dsn =
        "host='" + m.host + "' port=" + std::to_string(m.port) + (t.dsn.empty() ? "" : " " + t.dsn);
    t.where = where;
    out.push_back(std::move(t));
  }
  return out;
}

void AddDiscoveredTargets(const DiscoveredMembers& discovered, config::Config& config) {
  std::set<std::string> keys;
  for (const config::TargetConfig& t : config.targets) keys.insert(t.Key());
  const auto add = [&](const std::string& source_key, const config::TargetConfig& target_template,
                       const std::string& cluster, const std::string& where) {
    const auto it = discovered.find(source_key);
    if (it == discovered.end()) return;
    for (config::TargetConfig& t : DiscoveredTargets(target_template, cluster, where, it->second)) {
      if (keys.insert(t.Key()).second) config.targets.push_back(std::move(t));
    }
  };
  for (const config::PatroniSourceConfig& source : config.patroni) {
    if (source.target_template) {
      add(PatroniSourceKey(source.cluster), *source.target_template, source.cluster,
          source.where + " (discovered from Patroni)");
    }
  }
  for (size_t i = 0; i < config.cnpg.size(); ++i) {
    const config::CnpgSourceConfig& source = config.cnpg[i];
    if (source.target_template) {
      add(CnpgSourceKey(i), *source.target_template, "",
          source.where + " (discovered from CloudNativePG)");
    }
  }
}

}  // namespace pgdr::app

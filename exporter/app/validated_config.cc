#include "app/validated_config.h"

#include "app/store_poller.h"

namespace pgdr::app {

core::Result<ValidatedConfig> LoadAndValidate(const std::string& path,
                                              const DiscoveredMembers& discovered) {
  config::OwnedSections sections;
  auto config = config::LoadConfig(path, &sections);
  if (!config.ok()) return config.status();
  AddDiscoveredTargets(discovered, *config);
  auto stores = store::ParseBackupStores(sections.reader, sections.backup_stores);
  if (!stores.ok()) return stores.status();
  auto monitors = MakeBackupMonitors(*stores);
  if (!monitors.ok()) return monitors.status();
  auto drills = restore::ParseDrills(sections.reader, sections.drills, *stores);
  if (!drills.ok()) return drills.status();
  auto engine = actions::ActionEngine::Create(*config, sections);
  if (!engine.ok()) return engine.status();
  ValidatedConfig out;
  std::string errors;
  for (const std::string& file : config->rule_files) {
    auto groups = rules::LoadRuleFile(file);
    if (!groups.ok()) {
      errors += (errors.empty() ? "" : "\n") + groups.status().message();
      continue;
    }
    for (auto& g : *groups) out.rule_groups.push_back(std::move(g));
  }
  if (!errors.empty()) return core::Status::InvalidArgument(errors);
  out.config = std::move(*config);
  out.stores = std::move(*stores);
  out.monitors = std::move(*monitors);
  out.engine = std::move(*engine);
  out.drills = std::move(*drills);
  for (restore::DrillSpec& d : out.drills) {
    for (const config::TargetConfig& t : out.config.targets) {
      if (t.cluster == d.cluster) d.members.push_back(t);
    }
  }
  return out;
}

}  // namespace pgdr::app

#include "app/validated_config.h"

#include "app/store_poller.h"

namespace pgdr::app {

core::Result<ValidatedConfig> LoadAndValidate(const std::string& path) {
  auto config = config::LoadConfig(path);
  if (!config.ok()) return config.status();
  auto monitors = MakeBackupMonitors(*config);
  if (!monitors.ok()) return monitors.status();
  auto drills = restore::ParseDrills(*config);
  if (!drills.ok()) return drills.status();
  auto engine = actions::ActionEngine::Create(*config);
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
  out.monitors = std::move(*monitors);
  out.engine = std::move(*engine);
  out.drills = std::move(*drills);
  return out;
}

}  // namespace pgdr::app

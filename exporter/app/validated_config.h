// LoadAndValidate: the one path from a config file to everything the
// exporter runs with. Start, Reload and check-config all call it, so a
// config check-config accepts is one Start and Reload accept: the config
// itself with its query files, the backup monitors (store sections), the
// action engine (alerting, actions, maintenance) and the rule files.
//
// Nothing is started: monitors poll and the engine's threads run only once
// the exporter hands them to StorePoller and ActionEngine::Start.
//
// Thread-safety: pure function; the result is owned by the caller.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "app/discovery.h"
#include "pgdr/actions/engine.h"
#include "pgdr/config/config.h"
#include "pgdr/core/status.h"
#include "pgdr/restore/drills.h"
#include "pgdr/rules/rule_file.h"
#include "pgdr/store/backup_monitor.h"

namespace pgdr::app {

// Every section typed: nothing here is YAML.
struct ValidatedConfig {
  config::Config config;
  std::vector<store::StoreSettings> stores;                     // `backup_stores:`, in file order
  std::vector<std::unique_ptr<store::BackupMonitor>> monitors;  // one per store
  std::unique_ptr<actions::ActionEngine> engine;  // from `alerting`, `actions`, `maintenance`
  // The parsed groups of config.rule_files, in file order.
  std::vector<rules::GroupSpec> rule_groups;
  std::vector<restore::DrillSpec> drills;  // the `drills:` section
};

// Errors name the file (config, query or rule file) and line:col.
// `discovered`: members Patroni and CNPG list, added as targets of the
// `discovery` entries with `targets:` (discovery.h).
core::Result<ValidatedConfig> LoadAndValidate(const std::string& path,
                                              const DiscoveredMembers& discovered = {});

}  // namespace pgdr::app

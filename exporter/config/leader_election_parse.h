// Parsing `leader_election:` for LoadConfig (inside its GuardYaml: throws
// YamlError naming file:line:col). Private to the config module.
#pragma once

#include <yaml-cpp/yaml.h>

#include "pgdr/config/leader_election_config.h"
#include "pgdr/config/yaml_reader.h"

namespace pgdr::config {

LeaderElectionConfig ParseLeaderElection(const YamlReader& r, const YAML::Node& n);

}  // namespace pgdr::config

// Targets made of what a discovery source lists: the members of a Patroni
// cluster (/cluster) or the instances of CloudNativePG Clusters (their
// status). Both are applied the same way: the pollers hand their members to
// the exporter, a change re-applies the config file with them
// (Exporter::Impl::Rediscover), and LoadAndValidate adds their targets.
//
// Why one mechanism: a target's DSN, password and labels come from the
// entry's `targets:` template whichever system listed the member, and the
// re-application (keeping unchanged members' connections) is the reload's.
//
// Thread-safety: pure functions over values.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "pgdr/config/config.h"

namespace pgdr::app {

struct DiscoveredMember {
  std::string name;
  std::string host;  // PostgreSQL's: a host name, an address or a socket directory
  int port = 0;
  std::string role;     // as the source says: leader, replica, primary, ...
  std::string cluster;  // empty: the source's own (a Patroni entry names one cluster)

  bool operator==(const DiscoveredMember&) const = default;
};

// The members each source listed last, by source key (PatroniSourceKey,
// CnpgSourceKey).
using DiscoveredMembers = std::map<std::string, std::vector<DiscoveredMember>>;

std::string PatroniSourceKey(const std::string& cluster);  // "patroni/<cluster>"
std::string CnpgSourceKey(size_t index);                   // "cnpg/<index in discovery.cnpg>"

// A host that cannot carry other libpq options once quoted (no quote,
// backslash, space or '='): a member with another one is left out.
bool PlainHost(const std::string& host);

// The targets `target_template` makes of `members`: the template with the
// member's cluster (else `cluster`) and name, and "host=... port=..." put
// before the template's options. `where` names the source in messages.
std::vector<config::TargetConfig> DiscoveredTargets(const config::TargetConfig& target_template,
                                                    const std::string& cluster,
                                                    const std::string& where,
                                                    const std::vector<DiscoveredMember>& members);

// Adds the discovered targets of every `discovery` entry with `targets:`
// (Patroni and CNPG) whose key is not already a configured (static) target,
// which keeps precedence; the first source listing a key wins.
void AddDiscoveredTargets(const DiscoveredMembers& discovered, config::Config& config);

}  // namespace pgdr::app

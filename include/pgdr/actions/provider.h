// Failover providers: the one interface through which the ActionEngine
// promotes a replica once the guards (failover.h) allow it, and the table
// that names them (the shape of pgBackRest's storage drivers).
//
// Why an interface: the engine decides *whether* to fail over; *how* is
// the provider's business (pg_promote on the replica, Patroni's REST API,
// CloudNativePG's Cluster status, a user command). Adding one is one file
// and one row of the table; config validation asks the provider what a
// trigger must carry instead of comparing names.
//
// Thread-safety: providers are immutable; Promote() is safe from any thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "pgdr/actions/actions_config.h"
#include "pgdr/actions/alert.h"
#include "pgdr/actions/failover.h"
#include "pgdr/core/status.h"

namespace pgdr::actions {

// One promotion, decided: everything a provider may need.
struct FailoverPlan {
  const Trigger& trigger;
  const std::string& cluster;
  const FailoverDecision& decision;
  const ActionAlert& alert;                  // the firing alert that selected the trigger
  const std::vector<MemberView>& members;    // the cluster as the guards last saw it
  const std::vector<PgEndpoint>& endpoints;  // the cluster's configured members
  const PgEndpoint& candidate;               // the member to promote
  // A regional promotion (region.h): the standby region's cluster becomes
  // the primary one (a CNPG replica cluster is switched out of replica mode).
  bool region = false;
  // The cluster's discovery.patroni REST APIs; null when it has none.
  const std::vector<std::string>* patroni_urls = nullptr;
};

// What a provider needs in its trigger; LoadActionsConfig accepts the
// matching keys only for providers that ask for them.
struct ProviderNeeds {
  bool command = false;     // `command:` (argv, no shell)
  bool http = false;        // `url:`, basic_auth / bearer_token_*, tls_ca_file
  bool kubernetes = false;  // `namespace:`, `cnpg_cluster:`; url, token, CA default to the pod's
};

class FailoverProvider {
 public:
  virtual ~FailoverProvider() = default;
  // The `provider:` value and the `provider` label of pgdr_failover_requests_total.
  virtual std::string_view name() const = 0;
  virtual ProviderNeeds needs() const = 0;
  // Promotes plan.candidate; returns by `deadline` (each call is bounded).
  virtual core::Status Promote(const FailoverPlan& plan,
                               std::chrono::steady_clock::time_point deadline) const = 0;
};

// The provider called `name`; null when there is none.
const FailoverProvider* FindProvider(std::string_view name);
// The known names, comma-separated, for error messages.
std::string ProviderNames();

// What is left of `deadline`, at least 1ms (a timeout of 0 means none to libcurl).
std::chrono::milliseconds Remaining(std::chrono::steady_clock::time_point deadline);

}  // namespace pgdr::actions

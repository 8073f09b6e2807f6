// The failover providers, one per file (provider_<name>.cc); only the table
// in provider_table.cc refers to them.
#pragma once

#include "pgdr/actions/provider.h"

namespace pgdr::actions {

const FailoverProvider& PgPromoteProvider();
const FailoverProvider& PatroniProvider();
const FailoverProvider& CnpgProvider();
const FailoverProvider& ExecProvider();

}  // namespace pgdr::actions

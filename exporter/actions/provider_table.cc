#include "actions/provider_table.h"

#include <algorithm>
#include <array>

namespace pgdr::actions {
namespace {

using Entry = const FailoverProvider& (*)();
constexpr std::array<Entry, 4> kProviders = {PgPromoteProvider, ExecProvider, PatroniProvider,
                                             CnpgProvider};

}  // namespace

const FailoverProvider* FindProvider(std::string_view name) {
  for (const Entry entry : kProviders) {
    const FailoverProvider& p = entry();
    if (p.name() == name) return &p;
  }
  return nullptr;
}

std::string ProviderNames() {
  std::string out;
  for (const Entry entry : kProviders) {
    out += (out.empty() ? "" : ", ") + std::string(entry().name());
  }
  return out;
}

std::chrono::milliseconds Remaining(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return std::max(left, std::chrono::milliseconds(1));
}

}  // namespace pgdr::actions

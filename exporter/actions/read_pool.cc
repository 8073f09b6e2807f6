#include "pgdr/actions/read_pool.h"

#include <algorithm>
#include <limits>

namespace pgdr::actions {
namespace {

using collect::MemberHealth;

bool Within(const MemberHealth& m, const std::optional<double>& bytes,
            const std::optional<double>& seconds) {
  if (!m.up || m.role != collect::MemberRole::kReplica) return false;
  if (bytes && !(m.lag_bytes && *m.lag_bytes <= *bytes)) return false;
  if (seconds && !(m.lag_seconds && *m.lag_seconds <= *seconds)) return false;
  return true;
}

}  // namespace

bool ReadPoolRouter::Candidate(const MemberHealth& m) const {
  if (m.cluster != cluster_) return false;
  if (config_.members.empty())
    return m.role == collect::MemberRole::kReplica || admitted_.count(m.member);
  return std::find(config_.members.begin(), config_.members.end(), m.member) !=
         config_.members.end();
}

std::string ReadPoolRouter::Decide(const std::vector<MemberHealth>& members,
                                   std::chrono::steady_clock::time_point now) {
  const MemberHealth* primary = nullptr;
  std::map<std::string, const MemberHealth*> seen;
  for (const auto& m : members) {
    if (m.cluster == cluster_ && m.cluster_primary) primary = &m;
    if (!Candidate(m)) continue;
    seen[m.member] = &m;
    bool& admitted = admitted_[m.member];
    if (admitted) {
      if (!Within(m, config_.max_lag_bytes, config_.max_lag_seconds)) admitted = false;
      continue;
    }
    if (first_ && Within(m, config_.max_lag_bytes, config_.max_lag_seconds)) {
      admitted = true;
      continue;
    }
    if (!Within(m, config_.readmit_lag_bytes, config_.readmit_lag_seconds)) {
      fresh_since_.erase(m.member);
      continue;
    }
    const auto since = fresh_since_.emplace(m.member, now).first->second;
    if (now - since >= config_.readmit_after) {
      admitted = true;
      fresh_since_.erase(m.member);
    }
  }
  first_ = false;
  // A member no longer in the snapshot (removed by a reload) is not admitted.
  for (auto& [name, admitted] : admitted_) {
    if (seen.count(name) == 0) admitted = false;
  }
  if (const auto it = admitted_.find(current_); it != admitted_.end() && it->second)
    return current_;
  const MemberHealth* best = nullptr;
  for (const auto& [name, m] : seen) {
    if (!admitted_[name]) continue;
    const auto rank = [](const MemberHealth* h) {
      return std::pair(h->lag_bytes.value_or(std::numeric_limits<double>::max()),
                       h->lag_seconds.value_or(std::numeric_limits<double>::max()));
    };
    if (best == nullptr || rank(m) < rank(best)) best = m;
  }
  if (best != nullptr) return best->member;
  if (config_.fallback == config::ReadPoolConfig::Fallback::kPrimary && primary != nullptr) {
    return primary->member;
  }
  return current_;
}

}  // namespace pgdr::actions

#include "pgdr/actions/decision_log.h"

namespace pgdr::actions {

DecisionLog::DecisionLog(size_t capacity, std::chrono::milliseconds window)
    : capacity_(capacity), window_(window) {}

void DecisionLog::Record(Decision decision) {
  core::MutexLock lock(mu_);
  entries_.push_back(std::move(decision));
  while (entries_.size() > capacity_) entries_.pop_front();
}

std::vector<Decision> DecisionLog::Recent(TimePoint now) const {
  core::MutexLock lock(mu_);
  std::vector<Decision> out;
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->at <= now - window_) break;
    if (it->at <= now) out.push_back(*it);
  }
  return out;
}

void DecisionLog::Adopt(const DecisionLog& other) {
  if (&other == this) return;
  std::deque<Decision> older;
  {
    core::MutexLock lock(other.mu_);
    older = other.entries_;
  }
  core::MutexLock lock(mu_);
  older.insert(older.end(), entries_.begin(), entries_.end());
  entries_ = std::move(older);
  while (entries_.size() > capacity_) entries_.pop_front();
}

nlohmann::json DecisionJson(const Decision& d) {
  nlohmann::json evidence = nlohmann::json::object();
  for (const auto& [k, v] : d.evidence) evidence[k] = v;
  return {
      {"time", FormatRfc3339(d.at)}, {"cluster", d.cluster},     {"action", d.action},
      {"trigger", d.trigger},        {"alertname", d.alertname}, {"result", d.result},
      {"reason", d.reason},          {"summary", d.summary},     {"evidence", std::move(evidence)}};
}

nlohmann::json DecisionsJson(const std::vector<Decision>& decisions) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& d : decisions) list.push_back(DecisionJson(d));
  return {{"status", "success"}, {"data", {{"decisions", std::move(list)}}}};
}

}  // namespace pgdr::actions

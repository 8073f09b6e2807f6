#include "app/statements_json.h"

#include <nlohmann/json.hpp>

namespace pgdr::app {

std::string StatementsJson(const collect::Snapshot& snapshot) {
  nlohmann::json members = nlohmann::json::array();
  for (const auto& t : snapshot.targets) {
    nlohmann::json statements = nlohmann::json::array();
    for (const auto& s : t->statements) {
      statements.push_back({{"datname", s.datname},
                            {"queryid", s.queryid},
                            {"query", s.query},
                            {"callsPerSecond", s.calls_per_second},
                            {"timeSecondsPerSecond", s.time_seconds_per_second},
                            {"meanSeconds", s.mean_seconds}});
    }
    members.push_back({{"cluster", t->cluster}, {"member", t->member}, {"statements", statements}});
  }
  return nlohmann::json{{"status", "success"}, {"data", members}}.dump();
}

}  // namespace pgdr::app

#include <regex>

#include "pgdr/config/query_spec.h"

namespace pgdr::config {
namespace {

bool IsRegex(const std::string& entry) {
  return entry.size() >= 2 && entry.front() == '/' && entry.back() == '/';
}

}  // namespace

std::optional<std::string> DatabasePatternError(const std::string& entry) {
  if (entry.empty()) return "target_databases: an entry is empty";
  if (!IsRegex(entry)) return std::nullopt;
  try {
    const std::regex re(entry.substr(1, entry.size() - 2), std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return "target_databases: invalid regex " + entry + ": " + e.what();
  }
  return std::nullopt;
}

bool DatabaseMatches(const std::string& entry, std::string_view db) {
  if (entry == "*") return true;
  if (!IsRegex(entry)) return entry == db;
  try {
    const std::regex re(entry.substr(1, entry.size() - 2), std::regex::ECMAScript);
    return std::regex_search(db.begin(), db.end(), re);
  } catch (const std::regex_error&) {
    return false;  // rejected at load (DatabasePatternError)
  }
}

bool QuerySpec::RunsInDatabase(std::string_view db) const {
  for (const auto& entry : target_databases) {
    if (DatabaseMatches(entry, db)) return true;
  }
  return false;
}

}  // namespace pgdr::config

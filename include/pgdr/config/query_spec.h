// SQL collectors as data: the model of a queries/*.yml file.
//
// One loader reads both our own files and the CloudNativePG /
// postgres_exporter custom-queries format unchanged: a map from query name
// to {query, metrics: [{column: {usage, description}}], primary|master,
// runonserver, predicate_query, cache_seconds, target_databases}. Our files
// add three optional keys: `role` (any|primary|replica), and per column
// `name` (the full metric name) and `scale` (a factor to base units).
//
// Thread-safety: QuerySpec values are immutable after loading and shared
// read-only between threads.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgdr/core/status.h"

namespace pgdr::config {

enum class ColumnUsage { kLabel, kGauge, kCounter, kDiscard, kMappedMetric, kDuration };
enum class ServerRole { kAny, kPrimary, kReplica };

struct ColumnSpec {
  std::string column;
  ColumnUsage usage = ColumnUsage::kDiscard;
  std::string description;
  std::string metric_name;  // resolved: `name`, else <prefix><query>_<column>
  double scale = 1.0;
  std::map<std::string, double> mapping;  // MAPPEDMETRIC: text value -> number

  bool operator==(const ColumnSpec&) const = default;
};

// A version range from `runonserver` (">=10.0.0 <15.0.0", "||" for "or").
// Versions compare as major.minor.patch.
class VersionRange {
 public:
  static core::Result<VersionRange> Parse(const std::string& text);
  // server_version_num as PQserverVersion() reports it (150004 -> 15.4.0).
  bool Contains(int server_version_num) const;
  bool empty() const { return alternatives_.empty(); }
  bool operator==(const VersionRange&) const = default;

 private:
  struct Bound {
    enum class Op { kLt, kLe, kGt, kGe, kEq } op;
    long long version;  // major*1e6 + minor*1e3 + patch
    bool operator==(const Bound&) const = default;
  };
  std::vector<std::vector<Bound>> alternatives_;
};

struct QuerySpec {
  std::string name;
  std::string source;  // "file:line" where the query is declared
  std::string sql;
  VersionRange versions;
  ServerRole role = ServerRole::kAny;
  std::chrono::seconds cache_ttl{0};
  std::optional<std::string> predicate_sql;
  // Empty: the query runs on the member's own connection. Otherwise it runs
  // once in every database of the instance that an entry matches (a name,
  // "*", or "/regex/"), each over its own connection, with a `datname` label.
  std::vector<std::string> target_databases;
  std::vector<ColumnSpec> columns;

  bool per_database() const { return !target_databases.empty(); }
  // Whether some `target_databases` entry matches database `db`.
  bool RunsInDatabase(std::string_view db) const;

  // A reload keeps a member's connection only when its queries compare equal.
  bool operator==(const QuerySpec&) const = default;
};

// A `target_databases` entry: "*" (every database), "/regex/" (an ECMAScript
// regex, searched: anchor it yourself) or an exact database name.
// DatabasePatternError is empty when the entry is valid, else why not.
std::optional<std::string> DatabasePatternError(const std::string& entry);
bool DatabaseMatches(const std::string& entry, std::string_view db);

// Loads one queries file. `metric_prefix` is prepended to names derived from
// query and column ("pgdr_" by default; "cnpg_" keeps CNPG dashboards working).
core::Result<std::vector<QuerySpec>> LoadQueryFile(const std::string& path,
                                                   const std::string& metric_prefix);
core::Result<std::vector<QuerySpec>> ParseQueryFile(const std::string& text,
                                                    const std::string& name,
                                                    const std::string& metric_prefix);

}  // namespace pgdr::config

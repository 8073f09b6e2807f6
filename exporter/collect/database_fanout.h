// DatabaseFanout: a member's per-database connections, for the queries that
// run in every database of an instance (`target_databases`: a list, "*", or
// "/regex/"), as CloudNativePG runs them.
//
// The member's TargetCollector lists the instance's databases each cycle
// (all but its own: it runs the per-database queries of the database its DSN
// names over its own connection, so a member needs no second backend);
// Follow() opens one TargetCollector in per-database mode for each database
// some query targets (persistent, pipelined, with the member's schedule,
// deadline and backoff: the same collector, one socket each) and closes those
// whose database is gone, so databases created or dropped are followed
// without a restart. At most `max_databases` are opened (in name order); the
// rest are counted in pgdr_databases_skipped. A database's latest result is
// kept and joined to each result of the member (Attach), so its samples are
// at most one interval older than the member's and /metrics still reads one
// result per member.
//
// Thread-safety: none; belongs to the collection thread with its member.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "collect/reuse_ring.h"
#include "collect/target_collector.h"

namespace pgdr::collect {

class DatabaseFanout {
 public:
  DatabaseFanout(config::TargetConfig target,
                 std::shared_ptr<const std::vector<config::QuerySpec>> queries,
                 config::CollectionConfig options);

  // Whether `queries` need a fan-out (some query runs per database).
  static bool Needed(const std::vector<config::QuerySpec>& queries);

  // Remembers the member's latest database list; ApplyPending() acts on it
  // (between poll rounds, so that no collector is destroyed while the loop
  // still holds its pointer).
  void Follow(const std::vector<std::string>& databases);
  void ApplyPending(SteadyClock::time_point now);

  // The per-database collectors, for the loop to poll and step.
  void AppendCollectors(std::vector<TargetCollector*>& out) const;
  // A per-database collector's finished cycle (from its Step()).
  void Store(const PolledCollector* from, std::shared_ptr<const TargetResult> result);
  // The member's result with every database's latest samples and the
  // fan-out's own series joined.
  std::shared_ptr<const TargetResult> Attach(const TargetResult& member);

 private:
  struct Database {
    std::unique_ptr<TargetCollector> collector;
    std::shared_ptr<const TargetResult> latest;
  };

  const config::TargetConfig target_;
  const std::shared_ptr<const std::vector<config::QuerySpec>> queries_;
  const config::CollectionConfig options_;
  std::map<std::string, Database> databases_;
  std::optional<std::vector<std::string>> pending_;
  size_t skipped_ = 0;
  // Attach()'s results and own series, refilled once no one holds them, and
  // its scratch lists.
  ReuseRing<TargetResult> results_;
  ReuseRing<SerializedFamilies> own_blocks_;
  std::vector<std::shared_ptr<const std::vector<prometheus::MetricFamily>>> blocks_;
  std::vector<std::shared_ptr<const SerializedFamilies>> texts_;
  std::vector<std::shared_ptr<const SerializedFamilies>> text_only_;
};

}  // namespace pgdr::collect

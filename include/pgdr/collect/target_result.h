// TargetResult: the immutable outcome of one collection cycle of one member.
//
// It carries the member's samples (as text blocks ready to concatenate, and
// as families or text the local TSDB can read) and the few facts that cross-member computations
// need (lag against the cluster's primary, RPO, failover guards). Results are shared read-only
// between the collection thread, the snapshot composer and the HTTP handlers through
// std::shared_ptr<const TargetResult>.
#pragma once

#include <prometheus/metric_family.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pgdr/collect/exposition.h"
#include "pgdr/collect/statement_view.h"
#include "pgdr/core/metric_set.h"

namespace pgdr::collect {

struct MemberFacts {
  bool up = false;
  std::optional<bool> in_recovery;
  std::optional<double> lsn_bytes;          // current LSN (primary) or replay LSN (replica)
  std::optional<double> receive_lsn_bytes;  // replica: last WAL received
  std::optional<double> last_replay_timestamp_seconds;
  std::optional<double> server_time_seconds;  // now() on the server at the probe
  std::optional<bool> wal_receiver_streaming;
  std::optional<std::string> wal_receiver_sender;  // "host:port" the replica streams from
  int server_version_num = 0;
};

struct TargetResult {
  std::string key;  // "cluster/member"
  std::string cluster;
  std::string member;
  std::string region;
  core::Labels labels;  // cluster, member, region (if set), static labels
  MemberFacts facts;
  std::vector<prometheus::MetricFamily> families;
  // Families this result shares with earlier ones (a cached query's result,
  // reused until its TTL expires) instead of copying them into `families`
  // every cycle. The member's samples are `families` plus these:
  // AllFamilies() when one list is needed.
  std::vector<std::shared_ptr<const std::vector<prometheus::MetricFamily>>> reused;
  // The samples already serialised, in blocks whose concatenation (in order,
  // as AssembleExposition merges them) is the text of AllFamilies(); a cached
  // query's block is shared by every cycle that reuses it, so it is serialised
  // once per fetch, not once per cycle. Empty: the composer serialises
  // `families` itself (`reused` is then empty too).
  std::vector<std::shared_ptr<const SerializedFamilies>> text;
  // Blocks of `text` that exist only as text: SQL results written straight
  // from the PGresult (QueryTextWriter), with no families built. The member's
  // samples are `families`, `reused` and these (AllFamilies() parses them).
  std::vector<std::shared_ptr<const SerializedFamilies>> text_only;
  // The instance's connectable databases, listed this cycle when some query
  // runs per database (`target_databases`); unset when not listed or failed.
  std::optional<std::vector<std::string>> databases;
  // The top statements of the last pg_stat_statements read (/api/v1/statements).
  std::vector<StatementView> statements;
  std::string error;  // the last error of this cycle, secrets removed; empty when healthy
  std::chrono::system_clock::time_point collected_at;  // when the cycle ended
  // The samples' timestamp in the rule evaluator's TSDB: the cycle's
  // scheduled tick when it started within 2 ms of it, else its actual start
  // (collect/sample_clock.h).
  std::chrono::system_clock::time_point sample_at;
  double duration_seconds = 0;
};

// `families`, every `reused` list and the `text_only` blocks merged into one
// (a copy).
inline std::vector<prometheus::MetricFamily> AllFamilies(const TargetResult& r) {
  core::MetricSet all;
  all.Merge(r.families);
  for (const auto& f : r.reused) all.Merge(*f);
  for (const auto& t : r.text_only) all.Merge(FamiliesFromText(*t));
  return all.Take();
}

}  // namespace pgdr::collect

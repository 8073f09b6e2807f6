// TargetCollector: collects one member over one persistent libpq connection,
// without ever blocking, so that one thread drives every target.
//
// A cycle runs in two pipelined round trips (libpq pipeline mode, a sync
// point after every statement so one failing query never aborts the others):
//   1. the probe (recovery state, LSNs, backend pid; its round trip is
//      pgdr_probe_latency_seconds) plus the predicate queries;
//   2. every SQL collector that applies to this server's version and role,
//      whose cache has expired and whose predicate held.
// A statement's time (pgdr_collect_duration_seconds, the probe's latency) runs
// from its being queued in the pipeline to its result being read, with the
// clock read at that moment: results read in one wake-up are handled one
// after the other, so the wake-up's time would make all but the first ~0.
// Cycles start on a fixed-rate schedule. A cycle past `target_deadline` is
// cut: while connecting or probing the member is down (pgdr_up 0) and the
// connection dropped; later, the unfinished collectors count an error and the
// connection is reset (its pipeline is out of step). Reconnects back off
// exponentially up to `max_backoff`. Every query also runs under the server's
// statement_timeout.
//
// Every statement (probe, predicates, collectors) is a named prepared
// statement, prepared once per connection the first time it is sent (Parse in
// the same pipeline segment as its first execution) and then only executed:
// PostgreSQL would otherwise parse, rewrite and plan the large pg_stat_* views
// every cycle, which was ~90 % of the backend CPU a cycle costs. A failed
// prepare is an error of that statement alone and is retried next cycle; a new
// connection starts with nothing prepared.
//
// Queries with `target_databases` run per database: the member's collector
// skips them and, when there are any, lists the instance's databases each
// cycle (TargetResult::databases); a DatabaseFanout then runs one collector
// per matching database, made with `database` set: it connects to that
// database, runs only the queries that target it (each sample gets a
// `datname` label unless the query has one) and reports only their samples
// and its collectors' stats, which the fan-out joins to the member's result.
//
// Thread-safety: none; a TargetCollector belongs to the collection thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collect/async_connection.h"
#include "collect/polled_collector.h"
#include "collect/statement_stats.h"
#include "pgdr/collect/pg_handle.h"
#include "pgdr/collect/target_result.h"
#include "pgdr/config/config.h"

namespace pgdr::collect {

class TargetCollector final : public PolledCollector {
 public:
  TargetCollector(config::TargetConfig target,
                  std::shared_ptr<const std::vector<config::QuerySpec>> queries,
                  config::CollectionConfig options, SteadyClock::time_point first_start,
                  std::string database = {});
  TargetCollector(const TargetCollector&) = delete;
  TargetCollector& operator=(const TargetCollector&) = delete;

  const config::TargetConfig& target() const { return target_; }

  int socket() const override;
  short poll_events() const override { return want_events_; }
  SteadyClock::time_point wake_at() const override;
  bool connected() const override { return conn_.open() && state_ != State::kConnecting; }
  std::shared_ptr<const TargetResult> Step(SteadyClock::time_point now, short revents) override;

 private:
  enum class State { kIdle, kConnecting, kRunning };
  enum class ItemKind { kProbe, kPredicate, kQuery, kDiscovery };
  struct Item {
    ItemKind kind;
    size_t query;                    // index into queries_ (kPredicate, kQuery)
    size_t slot = 0;                 // index into prepared_
    bool prepare = false;            // the segment starts with the statement's Parse
    int nulls = 0;                   // end-of-statement NULLs seen in this segment
    SteadyClock::time_point sent{};  // queued in the pipeline
    SteadyClock::time_point read{};  // its sync read back
    PgResultPtr prepare_result{};
    PgResultPtr result{};
  };
  struct CachedQuery {
    SteadyClock::time_point fetched;
    std::shared_ptr<const std::vector<prometheus::MetricFamily>> families;
    std::shared_ptr<const SerializedFamilies> text;  // serialised once per fetch
  };
  struct CollectorStats {
    double errors_total = 0;
    double last_duration = 0;
    bool ran = false;
  };

  void StartCycle(SteadyClock::time_point now);
  void StartConnect(SteadyClock::time_point now);
  void PollConnect(SteadyClock::time_point now);
  void SendRound(SteadyClock::time_point now);
  void ReadResults(SteadyClock::time_point now);
  void CompleteItem(Item& item, SteadyClock::time_point now);
  void OnProbe(const PGresult* r, double latency);
  void OnQuery(size_t index, const PGresult* r, double duration, SteadyClock::time_point now);
  void OnStatements(const PGresult* r, SteadyClock::time_point now);
  void UseCached(size_t index);         // the cached result of query `index` joins this cycle
  void AddToCycle(core::MetricSet& m);  // m's families join this cycle's samples
  bool Send(ItemKind kind, size_t index, const std::string& sql);
  // The prepared-statement slot of a statement: 0 the probe, then two per query.
  static size_t Slot(ItemKind kind, size_t index);
  void Flush();
  void FailConnection(const std::string& why, SteadyClock::time_point now);
  void Finish(SteadyClock::time_point now);
  // pgdr_up, the probe's histogram and the member's other own series.
  void AppendMemberSeries(bool up, SteadyClock::time_point now, core::MetricSet& m) const;
  // pgdr_collect_duration_seconds, pgdr_collect_errors_total, pgdr_series_dropped_total.
  void AppendCollectorStats(const core::Labels& labels, core::MetricSet& m) const;
  void RecordError(const std::string& collector, const std::string& why);
  // Whether query `q` runs on this collector's connection.
  bool Runs(const config::QuerySpec& q) const;
  core::Labels QueryLabels(const config::QuerySpec& q) const;

  const config::TargetConfig target_;
  const std::shared_ptr<const std::vector<config::QuerySpec>> queries_;
  const config::CollectionConfig options_;
  const std::string database_;  // non-empty: a per-database collector (file comment)
  const bool lists_databases_;  // the member's collector, and some query runs per database
  core::Labels base_labels_;

  AsyncConnection conn_;
  State state_ = State::kIdle;
  short want_events_ = 0;
  SteadyClock::time_point next_start_;
  SteadyClock::time_point deadline_;
  int server_version_ = 0;
  std::vector<bool> prepared_;  // per Slot(), on the current connection
  double prepares_total_ = 0;

  // The cycle in progress.
  SteadyClock::time_point cycle_start_;
  std::vector<Item> pending_;  // in the order sent
  size_t next_item_ = 0;       // first item whose results are not complete
  int round_ = 0;
  bool probe_ok_ = false;
  std::vector<bool> predicate_false_;
  core::MetricSet cycle_metrics_;                      // this cycle's samples, cached results aside
  std::vector<size_t> cycle_cached_;                   // cache_ entries that are part of this cycle
  std::map<std::string, int, std::less<>> producers_;  // family -> producers this cycle
  MemberFacts facts_;
  std::optional<int> backend_pid_;
  std::optional<std::vector<std::string>> databases_;
  std::string cycle_error_;
  std::shared_ptr<const TargetResult> finished_;

  // Across cycles.
  std::map<size_t, CachedQuery> cache_;
  std::map<std::string, CollectorStats> collector_stats_;
  std::vector<double> probe_buckets_;  // cumulative counts per bucket bound
  double probe_count_ = 0;
  double probe_sum_ = 0;
  double dropped_duplicates_ = 0;
  double dropped_over_limit_ = 0;
  StatementTracker statements_{options_.statements_top_n};
  std::optional<SteadyClock::time_point> statements_at_;  // last pg_stat_statements read
};

}  // namespace pgdr::collect

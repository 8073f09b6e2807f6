// TargetCollector: collects one member over one persistent libpq connection,
// without ever blocking, so that one thread drives every target.
//
// A cycle is one pipelined round trip (libpq pipeline mode): the probe
// (recovery state, LSNs, backend pid; its round trip is
// pgdr_probe_latency_seconds), the predicate queries, and every SQL collector
// that applies to this server's version and to the role and predicate outcomes
// of the previous cycle, whose cache has expired. The probe and the predicates
// are answered first: a query they no longer call for (after a failover, a
// predicate turned false) is discarded unread, and the queries they now call
// for that were not sent go in a second round trip — on the first cycle of a
// collector, and when the role or a predicate changed.
//
// The prepared statements of a round share one pipeline segment (one Sync):
// PostgreSQL runs them in one implicit transaction and flushes its answers
// once, where a Sync per statement cost a transaction, a flush and a client
// wake-up each. statement_timeout still applies per statement (the server
// re-arms it at each Execute). A statement failing in the segment makes the
// server skip the rest (PGRES_PIPELINE_ABORTED): those go again in the same
// cycle, each in a segment of its own (one more round trip), and the failed
// statement keeps a segment of its own on later cycles until it succeeds, so
// a persistently failing query costs the others nothing. A statement still to
// be prepared also has its own segment (Parse and execution). No Flush
// request after each statement to stream the answers: measured (bench
// latency phase, 2026-12-03) it made the cycle slower (3.5 vs 1.9 ms) and
// cost the backend more CPU (1.6 vs 1.1 ms per cycle).
//
// A query's rows are written as exposition text straight from the PGresult
// (QueryTextWriter) into blocks the collector reuses once no earlier result
// holds them; only the exporter's own series are built as families.
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

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "collect/async_connection.h"
#include "collect/polled_collector.h"
#include "collect/query_text.h"
#include "collect/reuse_ring.h"
#include "collect/sample_clock.h"
#include "collect/statement_stats.h"
#include "collect/text_block.h"
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
    bool prepare = false;            // the statement's Parse precedes its execution
    bool ends_segment = false;       // a sync follows it
    int nulls = 0;                   // end-of-command NULLs seen for this statement
    SteadyClock::time_point sent{};  // queued in the pipeline
    SteadyClock::time_point read{};  // its sync read back
    PgResultPtr prepare_result{};
    PgResultPtr result{};
  };
  struct CachedQuery {
    SteadyClock::time_point fetched;
    // Null when the text was written straight from the result (QueryTextWriter).
    std::shared_ptr<const std::vector<prometheus::MetricFamily>> families;
    std::shared_ptr<const SerializedFamilies> text;  // serialised once per fetch
  };
  // A per-cycle query's text blocks: one is refilled each cycle once nobody
  // else holds it (the exporter's latest result, the published snapshot and
  // the one the evaluator last decided on keep up to three earlier cycles
  // alive). Cached queries get a fresh block per fetch instead: theirs are
  // large and rare.
  using BlockRing = ReuseRing<SerializedFamilies>;
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
  // Whether some family has samples from several producers this cycle.
  bool SharedFamilies();
  // Queues a statement: in the open segment, or in one of its own when
  // `alone`, not prepared yet, or it failed last time (isolated_).
  bool Send(ItemKind kind, size_t index, bool alone = false);
  // Ends the open segment with a sync; true when there is none.
  bool CloseSegment();
  const char* Sql(ItemKind kind, size_t index) const;  // the statement's text
  // The prepared-statement slot of a statement: 0 the probe, then two per query.
  static size_t Slot(ItemKind kind, size_t index);
  // Whether query `index` runs on a server in this role with this predicate
  // outcome (0 true, 1 false, 2 not known yet: not run).
  bool Wanted(size_t index, bool replica, char predicate_false) const;
  bool CacheFresh(size_t index, SteadyClock::time_point now) const;
  void Flush();
  void FailConnection(const std::string& why, SteadyClock::time_point now);
  void Finish(SteadyClock::time_point now);
  // pgdr_up and the member's other own series as text; the probe's histogram
  // as a family.
  void AppendMemberSeries(bool up, SteadyClock::time_point now, TextBlockBuilder& text,
                          core::MetricSet& m) const;
  // pgdr_collect_duration_seconds, pgdr_collect_errors_total, pgdr_series_dropped_total.
  void AppendCollectorStats(TextBlockBuilder& text) const;
  void RecordError(const std::string& collector, const std::string& why);
  // Whether query `q` runs on this collector's connection.
  bool Runs(const config::QuerySpec& q) const;
  core::Labels QueryLabels(const config::QuerySpec& q) const;
  // The member's collector, once connected: own_database_ and its queries' labels.
  void LearnOwnDatabase();

  const config::TargetConfig target_;
  const std::shared_ptr<const std::vector<config::QuerySpec>> queries_;
  const config::CollectionConfig options_;
  const std::string database_;  // non-empty: a per-database collector (file comment)
  const bool lists_databases_;  // the member's collector, and some query runs per database
  // The member's collector: the database its connection is to (PQdb, known
  // once connected). Its per-database queries run over this connection, not
  // over a second one (DatabaseFanout is not told about this database).
  std::string own_database_;
  std::set<std::string, std::less<>> own_database_queries_;  // their names
  core::Labels base_labels_;
  std::vector<core::Labels> query_labels_;  // per query: QueryLabels()
  core::Labels own_labels_;                 // the collector's own series: base (+ datname)

  AsyncConnection conn_;
  State state_ = State::kIdle;
  short want_events_ = 0;
  SteadyClock::time_point next_start_;
  SampleClock sample_clock_;
  SteadyClock::time_point deadline_;
  int server_version_ = 0;
  // The last probe's role and predicate outcomes: round 1 sends the queries
  // they call for along with the probe (one round trip per cycle).
  std::optional<bool> assumed_in_recovery_;
  std::vector<char> assumed_false_;  // per query, as Wanted()'s predicate_false
  // Per Slot(): the statement's last execution failed; it is sent in a
  // segment of its own until it succeeds, so it cannot abort the others.
  std::vector<bool> isolated_;
  std::vector<bool> prepared_;  // per Slot(), on the current connection
  double prepares_total_ = 0;

  // The cycle in progress.
  SteadyClock::time_point cycle_start_;
  std::chrono::system_clock::time_point sample_at_;  // TargetResult::sample_at
  std::vector<Item> pending_;                        // in the order sent
  size_t next_item_ = 0;                             // first item whose results are not complete
  int round_ = 0;
  bool first_pass_ = true;  // round 1 and its resends; the missing queries not sent yet
  // Statements skipped because one before them in their segment failed: sent
  // again in the next round.
  std::vector<std::pair<ItemKind, size_t>> aborted_;
  bool probe_ok_ = false;
  std::vector<bool> predicate_false_;
  std::vector<bool> sent_query_;   // per query: sent in round 1
  core::MetricSet cycle_metrics_;  // this cycle's samples built as families
  std::vector<std::shared_ptr<const SerializedFamilies>> cycle_text_;  // written as text
  std::vector<size_t> cycle_cached_;        // cache_ entries that are part of this cycle
  bool merged_into_family_ = false;         // two producers of cycle_metrics_ shared a family
  std::vector<std::string_view> produced_;  // scratch: family names of this cycle's producers
  MemberFacts facts_;
  std::optional<int> backend_pid_;
  std::optional<std::vector<std::string>> databases_;
  std::string cycle_error_;
  std::shared_ptr<const TargetResult> finished_;

  // Across cycles.
  QueryTextWriter writer_;
  std::vector<BlockRing> blocks_;    // per query
  BlockRing own_blocks_;             // the own series written as text
  BlockRing family_blocks_;          // the samples built as families, serialised
  ReuseRing<TargetResult> results_;  // the results handed out, refilled once released
  std::map<size_t, CachedQuery> cache_;
  std::map<std::string, CollectorStats> collector_stats_;
  std::vector<double> probe_buckets_;  // cumulative counts per bucket bound
  double probe_count_ = 0;
  double probe_sum_ = 0;
  double dropped_duplicates_ = 0;
  double dropped_over_limit_ = 0;
  StatementTracker statements_{options_.statements_top_n};
  std::optional<SteadyClock::time_point> statements_at_;  // last pg_stat_statements read
  std::vector<StatementRow> statement_rows_;              // its rows (buffers reused)
};

// The results of `ring` no one else holds drop the blocks they share (so that
// the collectors' block rings find those free); their buffers stay for reuse.
void ReleaseIdleResults(ReuseRing<TargetResult>& ring);

}  // namespace pgdr::collect

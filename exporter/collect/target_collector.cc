#include "collect/target_collector.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string_view>

#include "collect/memory_reader.h"
#include "collect/sql_metrics.h"
#include "collect/text_block.h"
#include "pgdr/core/log.h"
#include "pgdr/core/strings.h"

namespace pgdr::collect {
namespace {

constexpr const char* kProbeSql =
    "SELECT pg_is_in_recovery(),"
    " (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()"
    "  ELSE pg_current_wal_lsn() END - '0/0'::pg_lsn)::float8,"
    " (pg_last_wal_receive_lsn() - '0/0'::pg_lsn)::float8,"
    " extract(epoch from pg_last_xact_replay_timestamp())::float8,"
    " extract(epoch from clock_timestamp())::float8,"
    " (SELECT status = 'streaming' FROM pg_stat_wal_receiver),"
    " (SELECT sender_host || ':' || sender_port FROM pg_stat_wal_receiver),"
    " pg_backend_pid()";

constexpr const char* kDatabasesSql =
    "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname";

constexpr double kProbeBounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                   0.1,    0.25,  0.5,    1,     2.5,  5,     10};

double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

std::optional<std::string> Cell(const PGresult* r, int row, int col) {
  if (row >= PQntuples(r) || col >= PQnfields(r) || PQgetisnull(r, row, col)) return std::nullopt;
  return std::string(PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col)));
}

std::optional<double> NumberCell(const PGresult* r, int row, int col) {
  auto cell = Cell(r, row, col);
  double v = 0;
  if (!cell || !ParsePgNumber(*cell, &v)) return std::nullopt;
  return v;
}

std::string ResultError(const PGresult* r) {
  const std::string msg(core::TrimRight(r != nullptr ? PQresultErrorMessage(r) : "no result"));
  return msg.empty() ? std::string(PQresStatus(PQresultStatus(r))) : msg;
}

TextTable ToTable(const PGresult* r) {
  TextTable t;
  const int cols = PQnfields(r);
  const int rows = PQntuples(r);
  t.columns.reserve(static_cast<size_t>(cols));
  for (int c = 0; c < cols; ++c) t.columns.emplace_back(PQfname(r, c));
  t.rows.resize(static_cast<size_t>(rows));
  for (int i = 0; i < rows; ++i) {
    auto& row = t.rows[static_cast<size_t>(i)];
    row.reserve(static_cast<size_t>(cols));
    for (int c = 0; c < cols; ++c) row.push_back(Cell(r, i, c));
  }
  return t;
}

// A PGresult as the QueryTextWriter reads it.
class PgResultView final : public ResultView {
 public:
  explicit PgResultView(const PGresult* r) : r_(r) {}
  int rows() const override { return PQntuples(r_); }
  int columns() const override { return PQnfields(r_); }
  std::string_view column_name(int column) const override { return PQfname(r_, column); }
  std::optional<std::string_view> cell(int row, int column) const override {
    if (PQgetisnull(r_, row, column)) return std::nullopt;
    return std::string_view(PQgetvalue(r_, row, column),
                            static_cast<size_t>(PQgetlength(r_, row, column)));
  }

 private:
  const PGresult* r_;
};

bool AnyPerDatabase(const std::vector<config::QuerySpec>& queries) {
  return std::any_of(queries.begin(), queries.end(),
                     [](const config::QuerySpec& q) { return q.per_database(); });
}

AsyncConnection::Params ConnectParams(const config::TargetConfig& target,
                                      const config::CollectionConfig& options,
                                      const std::string& database) {
  const auto timeout = std::to_string(options.statement_timeout.count());
  return {.dsn = target.dsn,
          .password_env = target.password_env,
          .password_file = target.password_file,
          .server_options = "-c statement_timeout=" + timeout + " -c lock_timeout=" + timeout +
                            " -c idle_in_transaction_session_timeout=" +
                            std::to_string(options.statement_timeout.count() * 2),
          .database = database,
          .connect_timeout = options.connect_timeout,
          .max_backoff = options.max_backoff};
}

// libpq 15 flushes the socket at every PQpipelineSync, i.e. after every
// statement: one TCP segment and one server wake-up each. Corking the socket
// while a round is queued sends the round in as few segments as fit. On a
// Unix socket the option does not exist and the call fails harmlessly.
class TcpCork {
 public:
  explicit TcpCork(int fd) : fd_(fd) { Set(1); }
  ~TcpCork() { Set(0); }
  TcpCork(const TcpCork&) = delete;
  TcpCork& operator=(const TcpCork&) = delete;

 private:
  void Set(int on) const {
    if (fd_ >= 0) setsockopt(fd_, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
  }
  int fd_;
};

}  // namespace

TargetCollector::TargetCollector(config::TargetConfig target,
                                 std::shared_ptr<const std::vector<config::QuerySpec>> queries,
                                 config::CollectionConfig options,
                                 SteadyClock::time_point first_start, std::string database)
    : target_(std::move(target)),
      queries_(std::move(queries)),
      options_(options),
      database_(std::move(database)),
      lists_databases_(database_.empty() && AnyPerDatabase(*queries_)),
      conn_(ConnectParams(target_, options_, database_)),
      next_start_(first_start),
      assumed_false_(queries_->size(), 2),
      isolated_(Slot(ItemKind::kDiscovery, queries_->size()) + 1, false),
      probe_buckets_(std::size(kProbeBounds), 0) {
  base_labels_.push_back({"cluster", target_.cluster});
  base_labels_.push_back({"member", target_.member});
  if (!target_.region.empty()) base_labels_.push_back({"region", target_.region});
  for (const auto& [k, v] : target_.labels) base_labels_.push_back({k, v});
  own_labels_ = base_labels_;
  if (!database_.empty()) own_labels_.push_back({"datname", database_});
  query_labels_.reserve(queries_->size());
  for (const auto& q : *queries_) query_labels_.push_back(QueryLabels(q));
  blocks_.resize(queries_->size());
}

int TargetCollector::socket() const { return state_ == State::kIdle ? -1 : conn_.socket(); }

SteadyClock::time_point TargetCollector::wake_at() const {
  return state_ == State::kIdle ? next_start_ : deadline_;
}

std::shared_ptr<const TargetResult> TargetCollector::Step(SteadyClock::time_point now,
                                                          short revents) {
  finished_.reset();
  if (state_ == State::kIdle) {
    if (now < next_start_) return nullptr;
    StartCycle(now);
  } else if (state_ == State::kConnecting && revents != 0) {
    // libpq requires the socket to be ready before each PQconnectPoll().
    PollConnect(now);
  }
  if (state_ == State::kRunning) {
    Flush();
    if (state_ == State::kRunning) ReadResults(now);
  }
  if (state_ != State::kIdle && now >= deadline_) {
    if (state_ == State::kRunning && probe_ok_) {
      for (size_t i = next_item_; i < pending_.size(); ++i) {
        if (pending_[i].kind == ItemKind::kQuery) {
          RecordError((*queries_)[pending_[i].query].name, "target deadline exceeded");
        }
      }
      for (const auto& [kind, query] : aborted_) {
        if (kind == ItemKind::kQuery) {
          RecordError((*queries_)[query].name, "target deadline exceeded");
        }
      }
      cycle_error_ = "target deadline exceeded; connection reset";
      conn_.Close();
      Finish(now);
    } else {
      FailConnection("target deadline exceeded", now);
    }
  }
  return std::move(finished_);
}

void TargetCollector::StartCycle(SteadyClock::time_point now) {
  ReleaseIdleResults(results_);
  cycle_start_ = now;
  deadline_ = now + options_.target_deadline;
  sample_at_ = sample_clock_.StartCycle(next_start_, options_.interval, now);
  pending_.clear();
  next_item_ = 0;
  round_ = 0;
  first_pass_ = true;
  aborted_.clear();
  probe_ok_ = false;
  predicate_false_.assign(queries_->size(), false);
  cycle_metrics_ = core::MetricSet();
  cycle_text_.clear();
  cycle_cached_.clear();
  merged_into_family_ = false;
  facts_ = MemberFacts();
  backend_pid_.reset();
  databases_.reset();
  cycle_error_.clear();
  if (!conn_.open()) {
    if (conn_.backing_off(now)) {
      cycle_error_ = "waiting to reconnect: " + conn_.last_error();
      Finish(now);
      return;
    }
    StartConnect(now);
    return;
  }
  state_ = State::kRunning;
  SendRound(now);
}

void TargetCollector::StartConnect(SteadyClock::time_point now) {
  const bool started = conn_.Start(now);
  prepared_.assign(Slot(ItemKind::kDiscovery, queries_->size()) + 1, false);
  state_ = State::kConnecting;
  deadline_ = std::min(deadline_, conn_.connect_deadline());
  if (!started) {
    FailConnection(conn_.ErrorText(), now);
    return;
  }
  want_events_ = conn_.connect_events();
}

void TargetCollector::PollConnect(SteadyClock::time_point now) {
  switch (conn_.Continue()) {
    case AsyncConnection::Progress::kConnecting:
      want_events_ = conn_.connect_events();
      return;
    case AsyncConnection::Progress::kFailed:
      FailConnection(conn_.ErrorText(), now);
      return;
    case AsyncConnection::Progress::kReady:
      break;
  }
  if (PQenterPipelineMode(conn_.get()) != 1) {
    FailConnection(conn_.ErrorText(), now);
    return;
  }
  server_version_ = PQserverVersion(conn_.get());
  LearnOwnDatabase();
  state_ = State::kRunning;
  SendRound(now);
}

size_t TargetCollector::Slot(ItemKind kind, size_t index) {
  switch (kind) {
    case ItemKind::kProbe:
      return 0;
    case ItemKind::kPredicate:
      return 1 + 2 * index;
    case ItemKind::kQuery:
    case ItemKind::kDiscovery:  // index: the number of queries
      break;
  }
  return 2 + 2 * index;
}

const char* TargetCollector::Sql(ItemKind kind, size_t index) const {
  switch (kind) {
    case ItemKind::kProbe:
      return kProbeSql;
    case ItemKind::kPredicate:
      return (*queries_)[index].predicate_sql->c_str();
    case ItemKind::kQuery:
      break;
    case ItemKind::kDiscovery:
      return kDatabasesSql;
  }
  return (*queries_)[index].sql.c_str();
}

bool TargetCollector::CloseSegment() {
  if (pending_.empty() || pending_.back().ends_segment) return true;
  if (PQpipelineSync(conn_.get()) != 1) return false;
  pending_.back().ends_segment = true;
  return true;
}

bool TargetCollector::Send(ItemKind kind, size_t index, bool alone) {
  Item item{kind, index};
  item.slot = Slot(kind, index);
  item.sent = SteadyClock::now();
  const std::string name = "pgdr_" + std::to_string(item.slot);
  // A statement to prepare, one that failed last time and one sent again
  // after an abort get a segment of their own; the others share one.
  alone = alone || !prepared_[item.slot] || isolated_[item.slot];
  if (alone && !CloseSegment()) return false;
  if (!prepared_[item.slot]) {
    // Parse and first execution share one segment: if the Parse fails the
    // execution is skipped (PGRES_PIPELINE_ABORTED) and only this statement fails.
    if (PQsendPrepare(conn_.get(), name.c_str(), Sql(kind, index), 0, nullptr) != 1) {
      return false;
    }
    item.prepare = true;
  }
  if (PQsendQueryPrepared(conn_.get(), name.c_str(), 0, nullptr, nullptr, nullptr, 0) != 1) {
    return false;
  }
  if (alone) {
    if (PQpipelineSync(conn_.get()) != 1) return false;
    item.ends_segment = true;
  }
  pending_.push_back(std::move(item));
  return true;
}

void TargetCollector::SendRound(SteadyClock::time_point now) {
  pending_.clear();
  next_item_ = 0;
  ++round_;
  bool sent = true;
  std::optional<TcpCork> cork;
  cork.emplace(PQsocket(conn_.get()));
  if (round_ == 1) {
    sent_query_.assign(queries_->size(), false);
    sent = Send(ItemKind::kProbe, 0);
    for (size_t i = 0; sent && i < queries_->size(); ++i) {
      const config::QuerySpec& q = (*queries_)[i];
      if (q.predicate_sql && Runs(q)) sent = Send(ItemKind::kPredicate, i);
    }
    // The queries last cycle's answers call for, in the same round trip; the
    // probe and the predicates come back first and decide (CompleteItem).
    for (size_t i = 0; sent && assumed_in_recovery_ && i < queries_->size(); ++i) {
      if (!Wanted(i, *assumed_in_recovery_, assumed_false_[i]) || CacheFresh(i, now)) continue;
      sent = Send(ItemKind::kQuery, i);
      sent_query_[i] = sent;
    }
    if (sent && lists_databases_) sent = Send(ItemKind::kDiscovery, queries_->size());
  } else if (!aborted_.empty()) {
    // A statement failed in a shared segment: the ones after it were skipped.
    // Each goes again in a segment of its own, in the order first sent (the
    // predicates before the queries they decide).
    const std::vector<std::pair<ItemKind, size_t>> again = std::move(aborted_);
    aborted_.clear();
    for (size_t i = 0; sent && i < again.size(); ++i) {
      sent = Send(again[i].first, again[i].second, true);
    }
  } else {
    // The probe and the predicates are answered: remember them for the next
    // cycle's round 1, then send what round 1 did not (the first cycle, a
    // changed role or predicate). In the steady state nothing is left.
    first_pass_ = false;
    const bool replica = facts_.in_recovery.value_or(false);
    assumed_in_recovery_ = replica;
    for (size_t i = 0; i < queries_->size(); ++i) assumed_false_[i] = predicate_false_[i] ? 1 : 0;
    for (size_t i = 0; i < queries_->size(); ++i) {
      if (sent_query_[i] || !Wanted(i, replica, predicate_false_[i] ? 1 : 0)) continue;
      if (CacheFresh(i, now)) {
        UseCached(i);
        continue;
      }
      if (!Send(ItemKind::kQuery, i)) {
        sent = false;
        break;
      }
    }
    if (sent && pending_.empty()) {
      --round_;  // nothing left: the cycle took one round trip
      Finish(now);
      return;
    }
  }
  sent = sent && CloseSegment();
  cork.reset();  // uncorked: what the kernel holds goes out now
  if (!sent) {
    FailConnection(conn_.ErrorText(), now);
    return;
  }
  Flush();
}

bool TargetCollector::Wanted(size_t index, bool replica, char predicate_false) const {
  const config::QuerySpec& q = (*queries_)[index];
  if (predicate_false != 0 || !q.versions.Contains(server_version_) || !Runs(q)) return false;
  return !((q.role == config::ServerRole::kPrimary && replica) ||
           (q.role == config::ServerRole::kReplica && !replica));
}

bool TargetCollector::CacheFresh(size_t index, SteadyClock::time_point now) const {
  auto it = cache_.find(index);
  return it != cache_.end() && now - it->second.fetched < (*queries_)[index].cache_ttl;
}

void TargetCollector::Flush() {
  const int rc = PQflush(conn_.get());
  want_events_ = rc == 1 ? (POLLIN | POLLOUT) : POLLIN;
}

void TargetCollector::ReadResults(SteadyClock::time_point now) {
  if (PQconsumeInput(conn_.get()) != 1) {
    FailConnection(conn_.ErrorText(), now);
    return;
  }
  while (next_item_ < pending_.size() && !PQisBusy(conn_.get())) {
    PgResultPtr r(PQgetResult(conn_.get()));
    Item& item = pending_[next_item_];
    // A statement is one or two commands (Parse, execution), each ending with
    // a NULL; the last statement of a segment is then followed by the sync.
    const int commands = item.prepare ? 2 : 1;
    const bool sync = r && PQresultStatus(r.get()) == PGRES_PIPELINE_SYNC;
    if (!r && item.nulls >= commands) break;  // nothing more until the sync arrives
    if (!r) ++item.nulls;
    if (sync || (!r && item.nulls == commands && !item.ends_segment)) {
      // Not the wake-up's `now`: the results read in one wake-up arrived
      // while the ones before them were being handled.
      item.read = SteadyClock::now();
      CompleteItem(item, now);
      ++next_item_;
      if (state_ != State::kRunning) return;
      continue;
    }
    if (!r) continue;
    if (item.prepare && item.nulls == 0) {
      if (!item.prepare_result) item.prepare_result = std::move(r);
    } else if (!item.result) {
      item.result = std::move(r);
    }
  }
  if (PQstatus(conn_.get()) == CONNECTION_BAD) {
    FailConnection(conn_.ErrorText(), now);
    return;
  }
  if (next_item_ < pending_.size()) return;
  if (probe_ok_ && (first_pass_ || !aborted_.empty())) {
    SendRound(now);
  } else {
    Finish(now);
  }
}

void TargetCollector::CompleteItem(Item& item, SteadyClock::time_point now) {
  const PGresult* r = item.result.get();
  if (item.prepare) {
    const PGresult* p = item.prepare_result.get();
    if (p != nullptr && PQresultStatus(p) == PGRES_COMMAND_OK) {
      prepared_[item.slot] = true;
      prepares_total_ += 1;
    } else {
      r = p;  // the Parse failed: its error is the statement's error
    }
  } else if (r != nullptr && PQresultStatus(r) == PGRES_FATAL_ERROR) {
    // The statement is gone from the session (a pooler in between, DISCARD
    // ALL): prepare it again next cycle.
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (state != nullptr && std::string_view(state) == "26000") prepared_[item.slot] = false;
  }
  if (r != nullptr && PQresultStatus(r) == PGRES_PIPELINE_ABORTED) {
    // A statement before it in its segment failed: it goes again this cycle
    // (unless the probe failed: then nothing of this cycle counts).
    if (probe_ok_) aborted_.emplace_back(item.kind, item.query);
    return;
  }
  const bool ok = r != nullptr && PQresultStatus(r) == PGRES_TUPLES_OK;
  isolated_[item.slot] = !ok;
  switch (item.kind) {
    case ItemKind::kProbe:
      if (!ok) {
        cycle_error_ = "probe failed: " + ResultError(r);
        RecordError("probe", cycle_error_);
        return;
      }
      OnProbe(r, Seconds(item.read - item.sent));
      break;
    case ItemKind::kPredicate: {
      auto v = ok ? Cell(r, 0, 0) : std::nullopt;
      predicate_false_[item.query] = !(v && (*v == "t" || *v == "true" || *v == "1"));
      if (!ok) RecordError((*queries_)[item.query].name, "predicate_query: " + ResultError(r));
      break;
    }
    case ItemKind::kQuery:
      // Sent on last cycle's answers: the probe and predicates read before
      // it may say it does not apply now (a failover, a predicate turned false).
      if (!probe_ok_ || !Wanted(item.query, facts_.in_recovery.value_or(false),
                                predicate_false_[item.query] ? 1 : 0)) {
        break;
      }
      OnQuery(item.query, r, Seconds(item.read - item.sent), now);
      break;
    case ItemKind::kDiscovery:
      if (!ok) {
        RecordError("databases", ResultError(r));
        break;
      }
      databases_.emplace();
      for (int row = 0; row < PQntuples(r); ++row) {
        auto name = Cell(r, row, 0);
        if (name && *name != own_database_) databases_->push_back(std::move(*name));
      }
      break;
  }
}

void TargetCollector::OnProbe(const PGresult* r, double latency) {
  probe_count_ += 1;
  probe_sum_ += latency;
  for (size_t i = 0; i < std::size(kProbeBounds); ++i) {
    if (latency <= kProbeBounds[i]) probe_buckets_[i] += 1;
  }
  auto in_recovery = Cell(r, 0, 0);
  if (in_recovery) facts_.in_recovery = *in_recovery == "t";
  facts_.lsn_bytes = NumberCell(r, 0, 1);
  facts_.receive_lsn_bytes = NumberCell(r, 0, 2);
  facts_.last_replay_timestamp_seconds = NumberCell(r, 0, 3);
  facts_.server_time_seconds = NumberCell(r, 0, 4);
  if (auto s = Cell(r, 0, 5)) facts_.wal_receiver_streaming = *s == "t";
  facts_.wal_receiver_sender = Cell(r, 0, 6);
  if (auto pid = NumberCell(r, 0, 7)) backend_pid_ = static_cast<int>(*pid);
  facts_.server_version_num = server_version_;
  probe_ok_ = true;
}

void TargetCollector::OnQuery(size_t index, const PGresult* r, double duration,
                              SteadyClock::time_point now) {
  const config::QuerySpec& q = (*queries_)[index];
  CollectorStats& stats = collector_stats_[q.name];
  stats.ran = true;
  stats.last_duration = duration;
  if (r == nullptr || PQresultStatus(r) != PGRES_TUPLES_OK) {
    RecordError(q.name, ResultError(r));
    return;
  }
  if (q.name == kStatementsQuery) {
    OnStatements(r, now);
    return;
  }
  const auto account = [&](const SqlMetricsStats& s) {
    dropped_duplicates_ += static_cast<double>(s.duplicates);
    dropped_over_limit_ += static_cast<double>(s.over_limit);
    if (s.unparsable > 0) {
      RecordError(q.name, std::to_string(s.unparsable) + " values are not numbers");
    }
  };
  if (QueryTextWriter::Handles(q)) {
    std::shared_ptr<SerializedFamilies> block = q.cache_ttl.count() > 0
                                                    ? std::make_shared<SerializedFamilies>()
                                                    : FreeInRing(blocks_[index]);
    account(writer_.Write(q, PgResultView(r), query_labels_[index], options_.max_series_per_query,
                          *block));
    if (q.cache_ttl.count() > 0) {
      CachedQuery& cached = cache_[index];
      cached.fetched = now;
      cached.families.reset();
      cached.text = std::move(block);
      UseCached(index);
      return;
    }
    cycle_text_.push_back(std::move(block));
    return;
  }
  core::MetricSet metrics;
  account(AppendQueryMetrics(q, ToTable(r), query_labels_[index], options_.max_series_per_query,
                             metrics));
  if (q.cache_ttl.count() > 0) {
    CachedQuery& cached = cache_[index];
    cached.fetched = now;
    cached.families = std::make_shared<const std::vector<prometheus::MetricFamily>>(metrics.Take());
    cached.text = std::make_shared<const SerializedFamilies>(SerializeFamilies(*cached.families));
    UseCached(index);
    return;
  }
  AddToCycle(metrics);
}

void TargetCollector::OnStatements(const PGresult* r, SteadyClock::time_point now) {
  StatementRowsFromResult(PgResultView(r), statement_rows_);
  const double interval = statements_at_ ? Seconds(now - *statements_at_) : 0;
  statements_at_ = now;
  core::MetricSet metrics;
  statements_.Update(statement_rows_, interval, base_labels_, metrics);
  AddToCycle(metrics);
}

void TargetCollector::AddToCycle(core::MetricSet& m) {
  for (const auto& [name, family] : m.families()) {
    if (cycle_metrics_.families().count(name) != 0) merged_into_family_ = true;
  }
  cycle_metrics_.Merge(m.Take());
}

void TargetCollector::UseCached(size_t index) { cycle_cached_.push_back(index); }

bool TargetCollector::SharedFamilies() {
  if (merged_into_family_) return true;
  produced_.clear();
  for (const auto& [name, family] : cycle_metrics_.families()) produced_.push_back(name);
  const auto add = [this](const SerializedFamilies& text) {
    for (const SerializedFamily& f : text) {
      if (!f.hidden) produced_.push_back(f.name);
    }
  };
  for (const auto& block : cycle_text_) add(*block);
  for (size_t index : cycle_cached_) {
    const CachedQuery& cached = cache_[index];
    if (cached.families) {
      for (const auto& f : *cached.families) produced_.push_back(f.name);
    } else {
      add(*cached.text);
    }
  }
  std::sort(produced_.begin(), produced_.end());
  return std::adjacent_find(produced_.begin(), produced_.end()) != produced_.end();
}

void TargetCollector::RecordError(const std::string& collector, const std::string& why) {
  collector_stats_[collector].errors_total += 1;
  core::Log(core::LogLevel::kWarn, "collector failed",
            {{"target", database_.empty() ? target_.Key() : target_.Key() + "/" + database_},
             {"collector", collector},
             {"err", why}});
}

bool TargetCollector::Runs(const config::QuerySpec& q) const {
  if (!database_.empty()) return q.RunsInDatabase(database_);
  return !q.per_database() || (!own_database_.empty() && q.RunsInDatabase(own_database_));
}

core::Labels TargetCollector::QueryLabels(const config::QuerySpec& q) const {
  const std::string& database = database_.empty() ? own_database_ : database_;
  if (database.empty() || (database_.empty() && !q.per_database())) return base_labels_;
  const bool has_datname =
      std::any_of(q.columns.begin(), q.columns.end(), [](const config::ColumnSpec& c) {
        return c.usage == config::ColumnUsage::kLabel && c.column == "datname";
      });
  core::Labels labels = base_labels_;
  if (!has_datname) labels.push_back({"datname", database});
  return labels;
}

void TargetCollector::LearnOwnDatabase() {
  if (!database_.empty() || !own_database_.empty()) return;
  const char* db = PQdb(conn_.get());
  if (db == nullptr || *db == '\0') return;
  own_database_ = db;
  for (size_t i = 0; i < queries_->size(); ++i) {
    const config::QuerySpec& q = (*queries_)[i];
    if (!q.per_database() || !q.RunsInDatabase(own_database_)) continue;
    query_labels_[i] = QueryLabels(q);
    own_database_queries_.insert(q.name);
  }
}

void TargetCollector::FailConnection(const std::string& why, SteadyClock::time_point now) {
  if (state_ == State::kRunning && probe_ok_) {
    // The member answered the probe this cycle: report what was collected.
    cycle_error_ = why;
    conn_.Close();
    Finish(now);
    return;
  }
  conn_.Fail(why, now);
  cycle_error_ = why;
  RecordError("connect", why);
  Finish(now);
}

void TargetCollector::Finish(SteadyClock::time_point wake) {
  // The cycle ends once its last result is handled, not at the wake-up that
  // read it: the wall time it reports includes pgdr's own work on them.
  const SteadyClock::time_point now = std::max(wake, SteadyClock::now());
  const bool up = probe_ok_;
  if (!up) facts_ = MemberFacts();
  facts_.up = up;
  core::MetricSet m;  // the exporter's own series of this member built as families
  std::shared_ptr<SerializedFamilies> own_text = FreeInRing(own_blocks_);
  {
    TextBlockBuilder text(*own_text);  // and those written as text
    if (database_.empty()) {
      AppendMemberSeries(up, now, text, m);
      if (up && target_.local_memory && backend_pid_) {
        AppendLocalMemory(*backend_pid_, base_labels_, m);
      }
      if (!target_.cgroup_path.empty()) AppendCgroupMemory(target_.cgroup_path, base_labels_, m);
    }
    AppendCollectorStats(text);
  }
  AddToCycle(m);
  cycle_text_.push_back(std::move(own_text));

  // A result no one holds any more is refilled: its strings and vectors keep
  // their buffers. Every field is assigned below; the lists are appended to
  // (emptied by ReleaseIdleResults, or new).
  std::shared_ptr<TargetResult> result = FreeInRing(results_);
  result->key = target_.Key();
  result->cluster = target_.cluster;
  result->member = target_.member;
  result->region = target_.region;
  result->labels = base_labels_;
  result->facts = facts_;
  result->statements = statements_.top();
  // Within one query (and the exporter's own series) no label set repeats;
  // only a family that several producers wrote to can hold duplicates.
  if (!SharedFamilies()) {
    // The samples built as families are serialised here, once; query results
    // written as text and cached results are shared as they are.
    result->families = cycle_metrics_.Take();
    result->text.reserve(1 + cycle_text_.size() + cycle_cached_.size());
    std::shared_ptr<SerializedFamilies> families_text = FreeInRing(family_blocks_);
    SerializeFamiliesInto(result->families, *families_text);
    result->text.push_back(std::move(families_text));
    for (auto& block : cycle_text_) {
      result->text.push_back(block);
      result->text_only.push_back(std::move(block));
    }
    for (size_t index : cycle_cached_) {
      const CachedQuery& cached = cache_[index];
      result->text.push_back(cached.text);
      if (cached.families) {
        result->reused.push_back(cached.families);
      } else {
        result->text_only.push_back(cached.text);
      }
    }
  } else {
    for (const auto& block : cycle_text_) cycle_metrics_.Merge(FamiliesFromText(*block));
    for (size_t index : cycle_cached_) {
      const CachedQuery& cached = cache_[index];
      cycle_metrics_.Merge(cached.families ? *cached.families : FamiliesFromText(*cached.text));
    }
    result->families = cycle_metrics_.Take();
    dropped_duplicates_ += static_cast<double>(core::DropDuplicateSeries(result->families));
  }
  result->databases = std::move(databases_);
  result->error = cycle_error_;
  result->collected_at = std::chrono::system_clock::now();
  result->sample_at = sample_at_;
  result->duration_seconds = Seconds(now - cycle_start_);
  finished_ = std::move(result);
  state_ = State::kIdle;
  want_events_ = 0;
  pending_.clear();
  cycle_text_.clear();
}

void TargetCollector::AppendMemberSeries(bool up, SteadyClock::time_point now,
                                         TextBlockBuilder& text, core::MetricSet& m) const {
  using prometheus::MetricType;
  text.Family("pgdr_up",
              "Whether the member answered the probe query in the last collection (1) or not (0).",
              MetricType::Gauge);
  text.Sample(base_labels_, {}, up ? 1 : 0);
  text.Family("pgdr_collect_timestamp_seconds", "When the member was last collected (Unix time).",
              MetricType::Gauge);
  text.Sample(
      base_labels_, {},
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  text.Family("pgdr_collect_cycle_duration_seconds",
              "Wall time of the member's last collection cycle.", MetricType::Gauge);
  text.Sample(base_labels_, {}, Seconds(now - cycle_start_));
  text.Family("pgdr_collect_round_trips",
              "Pipelined round trips of the member's last collection cycle (1 in the steady "
              "state; 2 on a connection's first cycle, when the role or a predicate changed and "
              "when a statement failed in the shared segment and those after it went again).",
              MetricType::Gauge);
  text.Sample(base_labels_, {}, round_);
  text.Family(
      "pgdr_connections_opened_total",
      "Connections the exporter opened to the member (persistent: grows only on reconnects).",
      MetricType::Counter);
  text.Sample(base_labels_, {}, conn_.connects_total());
  text.Family("pgdr_statements_prepared_total",
              "Statements the exporter prepared on the member (once per statement and connection).",
              MetricType::Counter);
  text.Sample(base_labels_, {}, prepares_total_);
  prometheus::ClientMetric::Histogram h;
  h.sample_count = static_cast<std::uint64_t>(probe_count_);
  h.sample_sum = probe_sum_;
  for (size_t i = 0; i < std::size(kProbeBounds); ++i) {
    h.bucket.push_back({static_cast<std::uint64_t>(probe_buckets_[i]), kProbeBounds[i]});
  }
  h.bucket.push_back(
      {static_cast<std::uint64_t>(probe_count_), std::numeric_limits<double>::infinity()});
  m.Histogram("pgdr_probe_latency_seconds",
              "Round trip of the probe query (one prepared SELECT of the recovery state, WAL "
              "positions, WAL receiver status and server clock), from sending it to reading its "
              "result.",
              base_labels_, std::move(h));
}

void TargetCollector::AppendCollectorStats(TextBlockBuilder& text) const {
  using prometheus::MetricType;
  text.Family("pgdr_collect_duration_seconds",
              "Time from sending the collector's query to reading its result in the last cycle "
              "(pipelined: includes waiting for the statements sent before it).",
              MetricType::Gauge);
  // A per-database query run in the member's own database says which.
  const auto sample = [&](const std::string& name, double value) {
    if (own_database_queries_.count(name) != 0) {
      text.Sample(own_labels_, {{"datname", own_database_}, {"collector", name}}, value);
    } else {
      text.Sample(own_labels_, {{"collector", name}}, value);
    }
  };
  for (const auto& [name, stats] : collector_stats_) {
    if (stats.ran) sample(name, stats.last_duration);
  }
  text.Family("pgdr_collect_errors_total", "Errors of the collector since the exporter started.",
              MetricType::Counter);
  for (const auto& [name, stats] : collector_stats_) sample(name, stats.errors_total);
  text.Family(
      "pgdr_series_dropped_total",
      "Series from SQL collectors dropped: duplicate label sets or over the per-query limit.",
      MetricType::Counter);
  text.Sample(own_labels_, {{"reason", "duplicate"}}, dropped_duplicates_);
  text.Sample(own_labels_, {{"reason", "limit"}}, dropped_over_limit_);
}

void ReleaseIdleResults(ReuseRing<TargetResult>& ring) {
  for (auto& result : ring) {
    if (OnlyInRing(result)) {
      result->reused.clear();
      result->text.clear();
      result->text_only.clear();
    }
  }
}

}  // namespace pgdr::collect

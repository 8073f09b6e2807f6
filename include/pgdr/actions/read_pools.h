// ReadPools: applies every configured read pool's choice (read_pool.h) to
// its PgBouncer, on a thread of its own so that a slow admin console never
// holds up the evaluator that hands it snapshots.
//
// On every new snapshot each pool's router decides; when its choice differs
// from where the pooler points, the [databases] entry of the read database
// is rewritten to the chosen member's host:port and PgBouncer is told to
// RELOAD and RECONNECT (RedirectPooler, as the failover redirect does). A
// failed repoint is logged and retried on the next snapshot. Every change is
// logged and counted (pgdr_read_pool_changes_total), and each candidate's
// admission is exported (pgdr_read_pool_member_admitted).
//
// Thread-safety: every public method may be called from any thread.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "pgdr/actions/providers.h"
#include "pgdr/actions/read_pool.h"
#include "pgdr/collect/snapshot.h"
#include "pgdr/config/config.h"
#include "pgdr/core/metric_set.h"
#include "pgdr/core/mutex.h"

namespace pgdr::actions {

struct ReadPoolTarget {
  std::string pooler;
  std::string cluster;
  config::ReadPoolConfig pool;
  PoolerEndpoint endpoint;                       // databases: {pool.database}
  std::map<std::string, std::string> addresses;  // member -> "host:port"
};

// Every `pgbouncers[]` entry with a read_pool (secrets read now).
std::vector<ReadPoolTarget> ReadPoolTargets(const config::Config& config);

// What the status page shows of one pool.
struct ReadPoolView {
  std::string pooler;
  std::string cluster;
  std::string database;
  std::string current;                   // the member it points at; empty before the first
  std::map<std::string, bool> admitted;  // candidate -> admitted
  double changes = 0;
  std::string last_error;  // of the last failed repoint; empty once one succeeds
};

class ReadPools {
 public:
  explicit ReadPools(std::vector<ReadPoolTarget> targets);
  ~ReadPools();
  ReadPools(const ReadPools&) = delete;
  ReadPools& operator=(const ReadPools&) = delete;

  // Keeps the state (where each pooler points, admissions, counters) of the
  // pools `old` had with the same pooler, database and settings; call before
  // Start.
  void AdoptState(ReadPools& old) PGDR_EXCLUDES(mu_);
  void Start();
  void Stop() PGDR_EXCLUDES(mu_);

  // Never blocks on a pooler: the worker decides on the newest snapshot.
  void OnSnapshot(std::shared_ptr<const collect::Snapshot> snapshot) PGDR_EXCLUDES(mu_);

  void AppendMetrics(core::MetricSet& out) const PGDR_EXCLUDES(mu_);
  std::vector<ReadPoolView> Views() const PGDR_EXCLUDES(mu_);

 private:
  struct Pool {
    ReadPoolTarget target;
    ReadPoolRouter router;
    double changes = 0;
    std::string last_error;
  };
  void Run() PGDR_EXCLUDES(mu_);
  // One snapshot: each pool decides under mu_; a repoint runs without it.
  void Apply(const collect::Snapshot& snapshot) PGDR_EXCLUDES(mu_);

  mutable core::Mutex mu_;
  std::condition_variable_any cv_;
  std::vector<Pool> pools_ PGDR_GUARDED_BY(mu_);  // never resized after AdoptState
  std::shared_ptr<const collect::Snapshot> pending_ PGDR_GUARDED_BY(mu_);
  bool stopping_ PGDR_GUARDED_BY(mu_) = false;
  std::thread worker_;
};

}  // namespace pgdr::actions

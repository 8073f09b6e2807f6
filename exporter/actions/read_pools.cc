#include "pgdr/actions/read_pools.h"

#include "pgdr/actions/failover.h"
#include "pgdr/collect/pg_connect.h"
#include "pgdr/core/files.h"
#include "pgdr/core/log.h"

namespace pgdr::actions {
namespace {

constexpr std::chrono::milliseconds kRepointTimeout{10000};

core::Labels PoolLabels(const ReadPoolTarget& t) {
  return {{"cluster", t.cluster}, {"pgbouncer", t.pooler}, {"database", t.pool.database}};
}

}  // namespace

std::vector<ReadPoolTarget> ReadPoolTargets(const config::Config& config) {
  std::vector<ReadPoolTarget> out;
  for (const auto& p : config.pgbouncers) {
    if (!p.read_pool) continue;
    ReadPoolTarget t;
    t.pooler = p.name;
    t.cluster = p.cluster;
    t.pool = *p.read_pool;
    t.endpoint.name = p.name;
    t.endpoint.admin_dsn = p.dsn;
    t.endpoint.password = collect::ResolvePassword(p.password_env, p.password_file);
    t.endpoint.databases_file = core::ResolvePath(core::DirName(config.file), p.databases_file);
    t.endpoint.databases = {p.read_pool->database};
    for (const auto& target : config.targets) {
      if (target.cluster == p.cluster) t.addresses[target.member] = DsnAddress(target.dsn);
    }
    out.push_back(std::move(t));
  }
  return out;
}

ReadPools::ReadPools(std::vector<ReadPoolTarget> targets) {
  const core::MutexLock lock(mu_);
  for (auto& t : targets) {
    ReadPoolRouter router(t.cluster, t.pool);
    pools_.push_back(Pool{std::move(t), std::move(router), 0, ""});
  }
}

ReadPools::~ReadPools() { Stop(); }

void ReadPools::AdoptState(ReadPools& old) {
  std::vector<Pool> previous;
  {
    const core::MutexLock lock(old.mu_);
    previous = old.pools_;
  }
  const core::MutexLock lock(mu_);
  for (Pool& pool : pools_) {
    for (const Pool& before : previous) {
      const ReadPoolTarget& a = pool.target;
      const ReadPoolTarget& b = before.target;
      if (a.pooler != b.pooler || a.pool.database != b.pool.database) continue;
      pool.changes = before.changes;
      if (a.cluster == b.cluster && a.pool == b.pool) pool.router = before.router;
    }
  }
}

void ReadPools::Start() {
  if (!worker_.joinable()) worker_ = std::thread([this] { Run(); });
}

void ReadPools::Stop() {
  {
    const core::MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void ReadPools::OnSnapshot(std::shared_ptr<const collect::Snapshot> snapshot) {
  {
    const core::MutexLock lock(mu_);
    pending_ = std::move(snapshot);
  }
  cv_.notify_all();
}

void ReadPools::Run() {
  while (true) {
    std::shared_ptr<const collect::Snapshot> snapshot;
    {
      core::MutexLock lock(mu_);
      while (!stopping_ && !pending_) cv_.wait(lock);
      if (stopping_) return;
      snapshot = std::move(pending_);
      pending_.reset();
    }
    Apply(*snapshot);
  }
}

void ReadPools::Apply(const collect::Snapshot& snapshot) {
  const auto members = collect::MembersHealth(snapshot);
  const auto now = std::chrono::steady_clock::now();
  size_t count = 0;
  {
    const core::MutexLock lock(mu_);
    count = pools_.size();
  }
  for (size_t i = 0; i < count; ++i) {
    std::string from, to, address;
    PoolerEndpoint endpoint;
    ReadPoolTarget target;
    {
      const core::MutexLock lock(mu_);
      Pool& pool = pools_[i];
      to = pool.router.Decide(members, now);
      from = pool.router.current();
      if (to.empty() || to == from) continue;
      target = pool.target;
    }
    const auto it = target.addresses.find(to);
    if (it == target.addresses.end()) continue;
    const auto [host, port] = SplitHostPort(it->second);
    const core::Status st = RedirectPooler(target.endpoint, host, port, kRepointTimeout);
    core::Log(st.ok() ? core::LogLevel::kWarn : core::LogLevel::kError, "read pool repointed",
              {{"pgbouncer", target.pooler},
               {"cluster", target.cluster},
               {"database", target.pool.database},
               {"from", from.empty() ? "(unknown)" : from},
               {"to", to},
               {"address", it->second},
               {"result", st.ok() ? "success" : "failed"},
               {"error", st.message()}});
    const core::MutexLock lock(mu_);
    Pool& pool = pools_[i];
    if (st.ok()) {
      pool.router.Applied(to);
      ++pool.changes;
      pool.last_error.clear();
    } else {
      pool.last_error = st.message();
    }
  }
}

void ReadPools::AppendMetrics(core::MetricSet& out) const {
  const core::MutexLock lock(mu_);
  for (const Pool& pool : pools_) {
    const core::Labels labels = PoolLabels(pool.target);
    out.Counter("pgdr_read_pool_changes_total",
                "Times pgdr repointed the PgBouncer read database at another member.", labels,
                pool.changes);
    for (const auto& [member, admitted] : pool.router.admitted()) {
      core::Labels with_member = labels;
      with_member.push_back({"member", member});
      out.Gauge("pgdr_read_pool_member_admitted",
                "1 while the replica is fresh enough for the read pool (its lag within "
                "max_lag_*, readmitted after readmit_after within readmit_lag_*), else 0.",
                with_member, admitted ? 1 : 0);
    }
    if (!pool.router.current().empty()) {
      core::Labels with_member = labels;
      with_member.push_back({"member", pool.router.current()});
      out.Gauge("pgdr_read_pool_target",
                "1 for the member the read database points at (since pgdr last repointed it).",
                with_member, 1);
    }
  }
}

std::vector<ReadPoolView> ReadPools::Views() const {
  const core::MutexLock lock(mu_);
  std::vector<ReadPoolView> out;
  for (const Pool& pool : pools_) {
    out.push_back(ReadPoolView{pool.target.pooler, pool.target.cluster, pool.target.pool.database,
                               pool.router.current(), pool.router.admitted(), pool.changes,
                               pool.last_error});
  }
  return out;
}

}  // namespace pgdr::actions

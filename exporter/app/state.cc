// Exporter::Impl's side of the state file: what is gathered from the rule
// manager and the action engine, and how it is handed back at start.
#include <algorithm>
#include <cstdio>
#include <tuple>

#include "app/exporter_impl.h"
#include "app/state_file.h"
#include "pgdr/core/log.h"

namespace pgdr::app {

namespace {

int64_t Ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::chrono::system_clock::time_point FromMs(int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

std::optional<std::chrono::system_clock::time_point> FromMsOrNone(int64_t ms) {
  if (ms == 0) return std::nullopt;
  return FromMs(ms);
}

PersistedState::Primary ToPersisted(const actions::GuardMemory::Primary& p) {
  return {p.member, p.lsn_bytes, p.seen ? Ms(*p.seen) : 0, p.region};
}

actions::GuardMemory::Primary FromPersisted(const PersistedState::Primary& p) {
  return {p.member, p.lsn_bytes, FromMsOrNone(p.seen_ms), p.region};
}

void AddGuardMemory(const actions::GuardMemory& memory, PersistedState& state) {
  for (const auto& [cluster, c] : memory.clusters) {
    if (c.last_failover) state.last_failover_ms[cluster] = Ms(*c.last_failover);
    if (!c.primary.member.empty()) state.primaries[cluster] = ToPersisted(c.primary);
  }
  for (const auto& [key, r] : memory.regions) {
    state.regions.push_back({key.first, key.second, ToPersisted(r.primary),
                             r.last_promotion ? Ms(*r.last_promotion) : 0});
  }
}

actions::GuardMemory ToGuardMemory(const PersistedState& state) {
  actions::GuardMemory memory;
  for (const auto& [cluster, ms] : state.last_failover_ms) {
    memory.clusters[cluster].last_failover = FromMs(ms);
  }
  for (const auto& [cluster, p] : state.primaries) {
    memory.clusters[cluster].primary = FromPersisted(p);
  }
  for (const auto& r : state.regions) {
    memory.regions[{r.cluster, r.standby_region}] = {FromPersisted(r.primary),
                                                     FromMsOrNone(r.last_promotion_ms)};
  }
  return memory;
}

// Equal but for when each primary was last seen. That time only reports
// (`primary_last_seen` in a decision's evidence), it moves with every
// snapshot, and writing it at once cost an fsync'd rewrite per tick on an
// idle cluster, so alone it is written at most every kSeenRefresh.
bool SameButSeen(const PersistedState& a, const PersistedState& b) {
  auto same = [](const PersistedState::Primary& x, const PersistedState::Primary& y) {
    return x.member == y.member && x.lsn_bytes == y.lsn_bytes && x.region == y.region;
  };
  if (a.maintenance != b.maintenance || a.last_failover_ms != b.last_failover_ms ||
      a.alerts != b.alerts || a.primaries.size() != b.primaries.size() ||
      a.regions.size() != b.regions.size()) {
    return false;
  }
  for (auto i = a.primaries.begin(), j = b.primaries.begin(); i != a.primaries.end(); ++i, ++j) {
    if (i->first != j->first || !same(i->second, j->second)) return false;
  }
  for (size_t i = 0; i < a.regions.size(); ++i) {
    const auto& x = a.regions[i];
    const auto& y = b.regions[i];
    if (x.cluster != y.cluster || x.standby_region != y.standby_region ||
        x.last_promotion_ms != y.last_promotion_ms || !same(x.primary, y.primary)) {
      return false;
    }
  }
  return true;
}

constexpr std::chrono::seconds kSeenRefresh{10};

}  // namespace

void Exporter::Impl::RestoreState() {
  if (options_.storage_path.empty()) return;
  const std::string path = StateFilePath(options_.storage_path);
  auto loaded = LoadStateFile(options_.storage_path);
  if (!loaded.ok()) {
    if (loaded.status().code() == core::Status::Code::kNotFound) {
      core::Log(core::LogLevel::kInfo, "no state file yet; starting empty", {{"file", path}});
      return;
    }
    state_load_failures_ += 1;
    // Kept aside for a post-mortem: the next write replaces state.json.
    const std::string aside = path + ".corrupt";
    std::rename(path.c_str(), aside.c_str());
    core::Log(core::LogLevel::kError, "state file unreadable; starting without it",
              {{"file", path}, {"err", loaded.status().message()}, {"kept_as", aside}});
    return;
  }
  const PersistedState& state = *loaded;
  if (auto engine = Actions()) {
    std::vector<actions::MaintenanceWindows::ManualWindow> windows;
    for (const auto& w : state.maintenance) {
      windows.push_back({w.cluster, FromMs(w.until_ms), w.reason});
    }
    engine->maintenance().RestoreManual(windows);
    engine->RestoreMemory(ToGuardMemory(state));
  }
  if (auto rules = Rules()) {
    std::vector<rules::RuleManager::RestoredAlert> alerts;
    for (const auto& a : state.alerts) {
      std::vector<tsdb::Label> labels;
      for (const auto& [k, v] : a.labels) labels.push_back({k, v});
      alerts.push_back({a.group, a.rule, tsdb::MakeLabels(std::move(labels)), a.active_at_ms});
    }
    rules->RestoreForState(alerts, Ms(std::chrono::system_clock::now()));
  }
  core::Log(core::LogLevel::kInfo, "state restored",
            {{"file", path},
             {"maintenance_windows", std::to_string(state.maintenance.size())},
             {"failovers", std::to_string(state.last_failover_ms.size())},
             {"primaries", std::to_string(state.primaries.size())},
             {"regions", std::to_string(state.regions.size())},
             {"alerts", std::to_string(state.alerts.size())}});
}

void Exporter::Impl::SaveState() {
  if (options_.storage_path.empty()) return;
  const core::MutexLock lock(state_mu_);
  const auto now = std::chrono::system_clock::now();
  PersistedState state;
  if (auto engine = Actions()) {
    for (const auto& w : engine->maintenance().OpenManual(now)) {
      state.maintenance.push_back({w.cluster, Ms(w.until), w.reason});
    }
    AddGuardMemory(engine->Memory(), state);
  }
  if (auto rules = Rules()) {
    for (const auto& m : rules->Alerts()) {
      if (m.alert.state == rules::AlertState::kInactive || m.alert.resolved_at_ms != 0) continue;
      PersistedState::ForState f{m.group, m.rule, {}, m.alert.active_at_ms};
      for (const auto& l : m.alert.labels) f.labels[l.name] = l.value;
      state.alerts.push_back(std::move(f));
    }
    // Alerts() follows hash order; sorted, an unchanged state encodes the same.
    std::sort(state.alerts.begin(), state.alerts.end(), [](const auto& a, const auto& b) {
      return std::tie(a.group, a.rule, a.labels) < std::tie(b.group, b.rule, b.labels);
    });
  }
  if (state_written_ && *state_written_ == state) return;
  if (state_written_ && SameButSeen(*state_written_, state) &&
      now - state_written_at_ < kSeenRefresh) {
    return;
  }
  if (core::Status st = SaveStateFile(options_.storage_path, state); !st.ok()) {
    state_write_failures_ += 1;
    if (!state_write_failing_) {
      core::Log(core::LogLevel::kError, "cannot write the state file",
                {{"file", StateFilePath(options_.storage_path)}, {"err", st.message()}});
    }
    state_write_failing_ = true;
    return;
  }
  state_write_failing_ = false;
  state_written_ = std::move(state);
  state_written_at_ = now;
}

}  // namespace pgdr::app

#include "app/verdict.h"

#include <algorithm>
#include <cmath>

#include "pgdr/core/strings.h"

namespace pgdr::app {
namespace {

using Families = std::vector<prometheus::MetricFamily>;

std::string LabelOf(const prometheus::ClientMetric& m, const std::string& name) {
  for (const auto& l : m.label) {
    if (l.name == name) return l.value;
  }
  return "";
}

// Calls `fn(metric, value)` for every sample of `name` in `families` whose
// labels include `match`.
template <typename Fn>
void ForEach(const Families& families, const std::string& name,
             const std::map<std::string, std::string>& match, Fn fn) {
  for (const auto& f : families) {
    if (f.name != name) continue;
    for (const auto& m : f.metric) {
      bool ok = true;
      for (const auto& [k, v] : match) ok = ok && LabelOf(m, k) == v;
      const double value = core::SampleValue(f, m);
      if (ok && !std::isnan(value)) fn(m, value);
    }
  }
}

std::optional<double> First(const Families& families, const std::string& name,
                            const std::map<std::string, std::string>& match) {
  std::optional<double> out;
  ForEach(families, name, match, [&](const auto&, double v) {
    if (!out) out = v;
  });
  return out;
}

std::string Bytes(std::optional<double> v) { return v ? core::HumanBytes(*v) : "unknown"; }

Level Worst(std::initializer_list<Level> levels) {
  Level worst = Level::kOk;
  for (Level l : levels) {
    if (l == Level::kCrit) return Level::kCrit;
    if (l == Level::kWarn || (l == Level::kUnknown && worst == Level::kOk)) worst = l;
  }
  return worst;
}

Answer NodeAnswer(const ClusterVerdict& v) {
  const std::string streams = std::to_string(v.replicas_streaming) + " of " +
                              std::to_string(v.replicas_expected) + " replicas stream";
  if (v.primaries == 0) {
    return {Level::kCrit,
            "no: no member answers as primary, writes are failing (" + streams + "; RPO replica " +
                Bytes(v.rpo.count("replica") ? v.rpo.at("replica").bytes : std::nullopt) + ")"};
  }
  if (v.primaries > 1) {
    return {Level::kCrit,
            "no: " + std::to_string(v.primaries) + " members answer as primary (split brain)"};
  }
  if (v.replicas_streaming == 0) {
    return {Level::kCrit, "no: " + streams + "; losing " + v.primary + " loses the cluster"};
  }
  const auto it = v.rpo.find("replica");
  const std::string rpo =
      it == v.rpo.end() ? "RPO replica unknown" : "RPO replica " + Bytes(it->second.bytes);
  const Level level = v.replicas_streaming < v.replicas_expected ? Level::kWarn : Level::kOk;
  return {level, "yes: " + streams + ", " + rpo};
}

Answer RegionAnswer(const ClusterVerdict& v) {
  std::string primary_region;
  for (const auto& m : v.members) {
    if (m.member == v.primary) primary_region = m.region;
  }
  const auto archive = v.rpo.find("archive");
  const bool has_archive = archive != v.rpo.end() && archive->second.bytes.has_value();
  if (!v.primary.empty()) {
    for (const auto& m : v.members) {
      if (m.role == "replica" && m.streaming.value_or(false) && m.region != primary_region &&
          !m.region.empty()) {
        return {Level::kOk, "yes: " + m.member + " in " + m.region + " streams, " +
                                Bytes(m.lag_bytes) + " behind"};
      }
    }
  }
  if (has_archive) {
    return {Level::kWarn,
            "by restore only: no streaming member outside " +
                (primary_region.empty() ? std::string("the primary's region") : primary_region) +
                "; the WAL archive is " + Bytes(archive->second.bytes) + " behind (RPO archive)"};
  }
  return {Level::kCrit,
          "no: no streaming member outside the primary's region, and no RPO archive figure "
          "(pgdr_rpo_bytes{scope=\"archive\"} is not exported)"};
}

Answer DataAnswer(const ClusterVerdict& v) {
  if (v.stores == 0) {
    return {Level::kWarn,
            "not known to pgdr: no backup store is configured, so no base backup "
            "or WAL archive is watched"};
  }
  if (v.stores_up < v.stores) {
    return {Level::kWarn, std::to_string(v.stores - v.stores_up) + " of " +
                              std::to_string(v.stores) + " backup stores do not answer"};
  }
  if (!v.newest_backup_age_seconds) return {Level::kCrit, "no: no completed base backup"};
  const std::string age =
      "newest base backup " + core::HumanSeconds(*v.newest_backup_age_seconds) + " old";
  if (v.wal_gap_segments && *v.wal_gap_segments > 0) {
    return {Level::kCrit, "no: " + age + ", but the WAL chain has " +
                              std::to_string(static_cast<long long>(*v.wal_gap_segments)) +
                              " missing segments"};
  }
  return {Level::kOk, "yes: " + age + ", WAL chain without gaps"};
}

Answer DrillAnswer(const ClusterVerdict& v) {
  if (!v.drill_age_seconds) return {Level::kUnknown, "no drill configured"};
  return {*v.drill_age_seconds > 8 * 86400 ? Level::kWarn : Level::kOk,
          "last verified restore " + core::HumanSeconds(*v.drill_age_seconds) + " ago"};
}

}  // namespace

const char* LevelName(Level level) {
  switch (level) {
    case Level::kOk:
      return "ok";
    case Level::kWarn:
      return "warn";
    case Level::kCrit:
      return "crit";
    case Level::kUnknown:
      break;
  }
  return "unknown";
}

std::vector<ClusterVerdict> ClusterVerdicts(
    const collect::Snapshot& snapshot, const std::vector<std::shared_ptr<const StorePoll>>& stores,
    std::chrono::system_clock::time_point now) {
  const double now_s = std::chrono::duration<double>(now.time_since_epoch()).count();
  std::map<std::string, ClusterVerdict> by_cluster;
  for (const auto& t : snapshot.targets) {
    ClusterVerdict& v = by_cluster[t->cluster];
    v.cluster = t->cluster;
    if (t->key.starts_with("pooler/")) {
      v.poolers.push_back({t->member, t->facts.up, t->error});
      continue;
    }
    MemberState m;
    m.member = t->member;
    m.region = t->region;
    m.up = t->facts.up;
    m.role = !t->facts.up || !t->facts.in_recovery ? "unknown"
             : *t->facts.in_recovery               ? "replica"
                                                   : "primary";
    m.streaming = t->facts.wal_receiver_streaming;
    m.error = t->error;
    const std::map<std::string, std::string> who{{"cluster", t->cluster}, {"member", t->member}};
    m.lag_bytes = First(snapshot.computed, "pgdr_replication_lag_bytes", who);
    m.lag_seconds = First(snapshot.computed, "pgdr_replication_lag_seconds", who);
    if (m.role == "primary") {
      ++v.primaries;
      v.primary = m.member;
    }
    if (m.role == "replica") {
      ++v.replicas_up;
      if (m.streaming.value_or(false)) ++v.replicas_streaming;
    }
    v.members.push_back(std::move(m));
  }
  std::vector<ClusterVerdict> out;
  for (auto& entry : by_cluster) {  // not a structured binding: the lambdas capture it
    const std::string& cluster = entry.first;
    ClusterVerdict& v = entry.second;
    if (v.primaries != 1) v.primary.clear();
    v.replicas_expected = std::max(0, static_cast<int>(v.members.size()) - 1);
    ForEach(snapshot.computed, "pgdr_rpo_bytes", {{"cluster", cluster}},
            [&](const auto& m, double x) { v.rpo[LabelOf(m, "scope")].bytes = x; });
    ForEach(snapshot.computed, "pgdr_rpo_seconds", {{"cluster", cluster}},
            [&](const auto& m, double x) { v.rpo[LabelOf(m, "scope")].seconds = x; });
    const std::map<std::string, std::string> mine{{"cluster", cluster}};
    for (const auto& poll : stores) {
      if (poll->position.cluster != cluster) continue;
      ++v.stores;
      if (poll->position.up) ++v.stores_up;
      ForEach(poll->families, "pgdr_backup_last_completed_timestamp_seconds", mine,
              [&](const auto&, double ts) {
                const double age = now_s - ts;
                if (!v.newest_backup_age_seconds || age < *v.newest_backup_age_seconds) {
                  v.newest_backup_age_seconds = age;
                }
              });
      ForEach(poll->families, "pgdr_wal_archive_gap_segments", mine, [&](const auto&, double gaps) {
        v.wal_gap_segments = v.wal_gap_segments.value_or(0) + gaps;
      });
      ForEach(poll->families, "pgdr_restore_drill_last_success_timestamp_seconds", mine,
              [&](const auto&, double ts) { v.drill_age_seconds = now_s - ts; });
    }
    ForEach(snapshot.computed, "pgdr_restore_drill_last_success_timestamp_seconds", mine,
            [&](const auto&, double ts) { v.drill_age_seconds = now_s - ts; });
    v.node = NodeAnswer(v);
    v.region = RegionAnswer(v);
    v.data = DataAnswer(v);
    v.drill = DrillAnswer(v);
    v.overall = Worst({v.node.level, v.region.level, v.data.level});
    out.push_back(std::move(v));
  }
  return out;
}

nlohmann::json VerdictJson(const ClusterVerdict& v) {
  const auto opt = [](const std::optional<double>& x) {
    return x ? nlohmann::json(*x) : nlohmann::json(nullptr);
  };
  const auto answer = [](const Answer& a) {
    return nlohmann::json{{"level", LevelName(a.level)}, {"text", a.text}};
  };
  nlohmann::json members = nlohmann::json::array();
  for (const auto& m : v.members) {
    members.push_back({{"member", m.member},
                       {"region", m.region},
                       {"up", m.up},
                       {"role", m.role},
                       {"streaming", m.streaming ? nlohmann::json(*m.streaming) : nullptr},
                       {"lagBytes", opt(m.lag_bytes)},
                       {"lagSeconds", opt(m.lag_seconds)},
                       {"lastError", m.error}});
  }
  nlohmann::json poolers = nlohmann::json::array();
  for (const auto& p : v.poolers) {
    poolers.push_back({{"pooler", p.name}, {"up", p.up}, {"lastError", p.error}});
  }
  nlohmann::json rpo = nlohmann::json::object();
  for (const auto& [scope, r] : v.rpo)
    rpo[scope] = {{"bytes", opt(r.bytes)}, {"seconds", opt(r.seconds)}};
  return {{"cluster", v.cluster},
          {"verdict", LevelName(v.overall)},
          {"node", answer(v.node)},
          {"region", answer(v.region)},
          {"data", answer(v.data)},
          {"drill", answer(v.drill)},
          {"primary", v.primary},
          {"primaries", v.primaries},
          {"replicasExpected", v.replicas_expected},
          {"replicasUp", v.replicas_up},
          {"replicasStreaming", v.replicas_streaming},
          {"rpo", rpo},
          {"backupStores", v.stores},
          {"backupStoresUp", v.stores_up},
          {"newestBackupAgeSeconds", opt(v.newest_backup_age_seconds)},
          {"walGapSegments", opt(v.wal_gap_segments)},
          {"restoreDrillAgeSeconds", opt(v.drill_age_seconds)},
          {"members", members},
          {"poolers", poolers}};
}

}  // namespace pgdr::app

// The ActionEngine's regional promotion: decide on every snapshot (region.h),
// hold for approval, promote on the worker, page with the RPO, and the
// /api/v1/actions endpoints that show and approve the pending decision.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "actions/engine_impl.h"
#include "pgdr/actions/provider.h"
#include "pgdr/core/log.h"

namespace pgdr::actions {

namespace {

std::string Bytes(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

std::string Time(const std::optional<TimePoint>& t) { return t ? FormatRfc3339(*t) : ""; }

core::OwnedLogFields DecisionFields(const RegionFailover& rf, const RegionDecision& d) {
  return {{"cluster", rf.policy.cluster},
          {"standby_region", rf.policy.standby_region},
          {"primary_region", d.primary_region},
          {"provider", rf.trigger.provider},
          {"reason", d.reason},
          {"detail", d.detail},
          {"candidate", d.candidate},
          {"rpo_bytes", d.candidate.empty() ? "" : Bytes(d.rpo_bytes)},
          {"old_primary", d.old_primary},
          {"primary_lsn_bytes", d.primary_lsn ? Bytes(*d.primary_lsn) : ""},
          {"primary_last_seen", Time(d.primary_seen)},
          {"primary_region_down_since", Time(d.primary_region_down_since)}};
}

nlohmann::json DecisionJson(const RegionDecision& d) {
  nlohmann::json j = {{"promote", d.promote},
                      {"reason", d.reason},
                      {"detail", d.detail},
                      {"primary_region", d.primary_region},
                      {"old_primary", d.old_primary}};
  if (!d.candidate.empty()) {
    j["candidate"] = d.candidate;
    j["candidate_lsn_bytes"] = d.candidate_lsn;
    j["rpo_bytes"] = d.rpo_bytes;
  }
  if (d.primary_lsn) j["primary_lsn_bytes"] = *d.primary_lsn;
  if (d.primary_seen) j["primary_last_seen"] = FormatRfc3339(*d.primary_seen);
  if (d.primary_region_down_since) {
    j["primary_region_down_since"] = FormatRfc3339(*d.primary_region_down_since);
  }
  return j;
}

http::HttpResponse Json(int status, const nlohmann::json& body) {
  return http::HttpResponse{status, "application/json", body.dump() + "\n"};
}

}  // namespace

void ActionEngine::Impl::HandleRegion(const RegionFailover& rf, RegionState& rs, TimePoint now) {
  if (rs.state == "running" || rs.state == "done") return;
  std::string why;
  const bool maintenance = maintenance_.Active(rf.policy.cluster, now, &why);
  RegionDecision d =
      DecideRegion(members_[rf.policy.cluster], rs.tracker, rf.policy, maintenance, now);
  if (maintenance) d.detail += " (" + why + ")";
  rs.last = d;
  if (!d.promote) {
    if (rs.pending) {
      core::OwnedLogFields f = DecisionFields(rf, d);
      f.push_back({"result", "withdrawn"});
      core::Log(core::LogLevel::kWarn, "regional promotion withdrawn: a guard no longer holds", f);
      rs.pending.reset();
      rs.state = "idle";
    }
    if (d.reason == rs.last_reason) return;
    rs.last_reason = d.reason;
    if (d.reason == "healthy") return;
    if (d.reason == "not_confirmed") {
      core::Log(core::LogLevel::kInfo, "regional promotion waiting for confirmation",
                DecisionFields(rf, d));
      return;
    }
    core::OwnedLogFields f = DecisionFields(rf, d);
    f.push_back({"result", "refused"});
    core::Log(core::LogLevel::kWarn, "regional promotion refused", f);
    CountFailover("region", rf.policy.cluster, rf.trigger.provider, "refused", 0);
    return;
  }
  if (rf.trigger.dry_run) {
    if (rs.last_reason == "dry_run") return;
    rs.last_reason = "dry_run";
    core::OwnedLogFields f = DecisionFields(rf, d);
    f.push_back({"result", "dry_run"});
    core::Log(core::LogLevel::kWarn, "regional promotion dry run: would promote", f);
    CountFailover("region", rf.policy.cluster, rf.trigger.provider, "dry_run", d.rpo_bytes);
    return;
  }
  if (std::string not_leader; !MayAct(&not_leader)) {
    // Neither held pending nor paged: the leader does both.
    rs.pending.reset();
    rs.state = "idle";
    if (rs.last_reason == "not_leader") return;
    rs.last_reason = "not_leader";
    Withhold(rf.trigger, rf.policy.cluster, "", now, not_leader,
             "not promoting region " + rf.policy.standby_region + ": " + not_leader);
    return;
  }
  if (!rf.policy.manual_approval) {
    StartRegion(rf, rs, d, "auto", now);
    return;
  }
  const bool first = !rs.pending;
  rs.pending = d;  // the latest facts: approval acts on the current candidate
  if (!first) return;
  rs.pending_since = now;
  rs.state = "pending";
  rs.last_reason = "pending";
  core::OwnedLogFields f = DecisionFields(rf, d);
  f.push_back({"result", "pending"});
  core::Log(core::LogLevel::kWarn,
            "regional promotion pending approval (pgdr_exporter promote-region --cluster " +
                rf.policy.cluster + " --region " + rf.policy.standby_region + ")",
            f);
  CountFailover("region", rf.policy.cluster, rf.trigger.provider, "pending", 0);
  PageRegion(rf, d, "pending approval", now);
}

void ActionEngine::Impl::StartRegion(const RegionFailover& rf, RegionState& rs,
                                     const RegionDecision& d, const std::string& approved_by,
                                     TimePoint now) {
  rs.state = "running";
  rs.pending.reset();
  rs.last_reason = "acted";
  core::OwnedLogFields f = DecisionFields(rf, d);
  f.push_back({"approved_by", approved_by});
  core::Log(core::LogLevel::kWarn, "regional promotion started", f);
  Dispatch({[this, &rf, d, now] { RunRegion(rf, d, now); },
            [this, &rf] {
              core::Log(
                  core::LogLevel::kWarn,
                  "regional promotion dropped: the engine stopped before it ran",
                  {{"cluster", rf.policy.cluster}, {"standby_region", rf.policy.standby_region}});
              const core::MutexLock lock(mu_);
              for (size_t i = 0; i < config_.regions.size(); ++i) {
                if (&config_.regions[i] == &rf) regions_[i].state = "idle";
              }
            }});
}

void ActionEngine::Impl::RunRegion(const RegionFailover& rf, const RegionDecision& d,
                                   TimePoint decided_at) {
  const std::string& cluster = rf.policy.cluster;
  std::vector<MemberView> standby;
  {
    const core::MutexLock lock(mu_);
    if (std::string not_leader; !MayAct(&not_leader)) {  // lost since the decision
      Withhold(rf.trigger, cluster, "", Clock::now(), not_leader,
               "not promoting region " + rf.policy.standby_region + ": " + not_leader);
      for (size_t i = 0; i < config_.regions.size(); ++i) {
        if (&config_.regions[i] == &rf) regions_[i].state = "idle";
      }
      return;
    }
    for (size_t i = 0; i < config_.regions.size(); ++i) {
      if (&config_.regions[i] == &rf) regions_[i].tracker.last_promotion = decided_at;
    }
    for (const auto& m : members_[cluster]) {
      if (m.region == rf.policy.standby_region) standby.push_back(m);
    }
  }
  const auto started = std::chrono::steady_clock::now();
  const PgEndpoint* candidate = nullptr;
  for (const auto& ep : config_.members.at(cluster)) {
    if (ep.member == d.candidate) candidate = &ep;
  }
  const FailoverDecision fd = AsFailoverDecision(d);
  ActionAlert alert;
  alert.labels = {{"alertname", "PgdrRegionalPromotion"},
                  {"cluster", cluster},
                  {"region", rf.policy.standby_region}};
  core::Status st;
  if (!candidate) {
    st = core::Status::NotFound("candidate " + d.candidate + " has no target");
  } else {
    // Only the standby region's members are repointed: the primary region is gone.
    const FailoverPlan plan{rf.trigger, cluster,        fd,
                            alert,      standby,        config_.members.at(cluster),
                            *candidate, /*region=*/true};
    st = FindProvider(rf.trigger.provider)->Promote(plan, started + rf.trigger.timeout);
  }
  if (st.ok() && !rf.trigger.redirect.empty()) {
    const core::Status rs = Redirect(rf.trigger.redirect, cluster, d.candidate_address);
    if (!rs.ok()) st = core::Status::IOError("promoted, but redirect failed: " + rs.message());
  }
  char took[32];
  std::snprintf(took, sizeof took, "%.3f",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  core::OwnedLogFields f = DecisionFields(rf, d);
  f.push_back({"result", st.ok() ? "success" : "failed"});
  f.push_back({"duration_seconds", took});
  f.push_back({"error", st.message()});
  core::Log(st.ok() ? core::LogLevel::kWarn : core::LogLevel::kError, "regional promotion finished",
            f);
  PageRegion(rf, d, st.ok() ? "promoted" : "failed: " + st.message(), Clock::now());
  const core::MutexLock lock(mu_);
  CountFailover("region", cluster, rf.trigger.provider, st.ok() ? "success" : "failed",
                st.ok() ? d.rpo_bytes : 0);
  for (size_t i = 0; i < config_.regions.size(); ++i) {
    if (&config_.regions[i] == &rf) regions_[i].state = st.ok() ? "done" : "failed";
  }
}

void ActionEngine::Impl::PageRegion(const RegionFailover& rf, const RegionDecision& d,
                                    const std::string& what, TimePoint now) {
  ActionAlert a;
  a.labels = {{"alertname", "PgdrRegionalPromotion"},
              {"cluster", rf.policy.cluster},
              {"region", rf.policy.standby_region},
              {"severity", "critical"}};
  a.annotations = {
      {"summary", "regional promotion of " + rf.policy.cluster + " to " + rf.policy.standby_region +
                      ": " + what + "; RPO " + Bytes(d.rpo_bytes) + " bytes"},
      {"description", d.detail},
      {"rpo_bytes", Bytes(d.rpo_bytes)},
      {"candidate", d.candidate},
      {"primary_region", d.primary_region},
      {"runbook_url", "https://github.com/pgdr/pgdr/blob/main/docs/actions.md#regional-promotion"}};
  a.state = ActionAlert::State::kFiring;
  a.active_at = a.fired_at = now;
  a.valid_until = now + std::chrono::hours(1);
  for (const auto& r : config_.notifier.receivers) {
    if (r.on_demand) continue;
    const std::string body =
        r.kind == ReceiverConfig::Kind::kAlertmanager
            ? AlertmanagerBody({a}, now, std::chrono::hours(1), config_.notifier.external_labels)
                  .dump()
            : WebhookBody(r.name, r.group_by, {a}, config_.notifier.external_url,
                          config_.notifier.external_labels)
                  .dump();
    const core::Status st = notifier_.Enqueue(r.name, body);
    if (!st.ok()) {
      core::Log(core::LogLevel::kError, "regional promotion page not queued",
                {{"receiver", r.name}, {"error", st.message()}});
    }
  }
}

http::HttpResponse ActionEngine::Impl::HandleActions(const http::HttpRequest& request) {
  if (request.method != "GET") {
    return http::HttpResponse{405, "text/plain; charset=utf-8", "method not allowed\n"};
  }
  nlohmann::json regions = nlohmann::json::array();
  const core::MutexLock lock(mu_);
  for (size_t i = 0; i < config_.regions.size(); ++i) {
    const RegionFailover& rf = config_.regions[i];
    const RegionState& rs = regions_[i];
    nlohmann::json j = {{"cluster", rf.policy.cluster},
                        {"standby_region", rf.policy.standby_region},
                        {"approval", rf.policy.manual_approval ? "manual" : "auto"},
                        {"dry_run", rf.trigger.dry_run},
                        {"state", rs.state},
                        {"last_decision", DecisionJson(rs.last)}};
    if (rs.pending) {
      nlohmann::json p = DecisionJson(*rs.pending);
      p["since"] = FormatRfc3339(rs.pending_since);
      nlohmann::json evidence = nlohmann::json::array();
      for (const auto& m : members_[rf.policy.cluster]) {
        nlohmann::json e = {{"member", m.member}, {"region", m.region}, {"up", m.up}};
        if (m.in_recovery) e["in_recovery"] = *m.in_recovery;
        if (m.lsn_bytes) e["replay_lsn_bytes"] = *m.lsn_bytes;
        if (m.receive_lsn_bytes) e["receive_lsn_bytes"] = *m.receive_lsn_bytes;
        e["wal_receiver"] = m.streaming ? (*m.streaming ? "streaming" : "not_streaming") : "none";
        if (const auto it = rs.tracker.standby.find(m.member); it != rs.tracker.standby.end()) {
          e["last_advanced"] = FormatRfc3339(it->second.advanced_at);
        }
        evidence.push_back(std::move(e));
      }
      p["evidence"] = std::move(evidence);
      j["pending"] = std::move(p);
    }
    regions.push_back(std::move(j));
  }
  return Json(200, {{"status", "success"}, {"data", {{"regions", regions}}}});
}

http::HttpResponse ActionEngine::Impl::HandleRegionApprove(const http::HttpRequest& request) {
  if (request.method != "POST") {
    return http::HttpResponse{405, "text/plain; charset=utf-8", "method not allowed\n"};
  }
  const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
  if (!body.is_object() || !body.contains("cluster") || !body["cluster"].is_string() ||
      !body.contains("region") || !body["region"].is_string()) {
    return Json(400, {{"status", "error"},
                      {"error", "body must be a JSON object {\"cluster\":..., \"region\":...}"}});
  }
  const std::string cluster = body["cluster"], region = body["region"];
  const core::MutexLock lock(mu_);
  for (size_t i = 0; i < config_.regions.size(); ++i) {
    const RegionFailover& rf = config_.regions[i];
    if (rf.policy.cluster != cluster || rf.policy.standby_region != region) continue;
    RegionState& rs = regions_[i];
    if (!rs.pending) {
      core::Log(core::LogLevel::kWarn, "regional promotion approval refused: nothing pending",
                {{"cluster", cluster},
                 {"standby_region", region},
                 {"state", rs.state},
                 {"reason", rs.last.reason}});
      return Json(409, {{"status", "error"},
                        {"error", "no regional promotion is pending for " + cluster + "/" + region +
                                      " (state " + rs.state + ", last decision: " + rs.last.reason +
                                      ": " + rs.last.detail + ")"}});
    }
    if (std::string not_leader; !MayAct(&not_leader)) {
      return Json(409, {{"status", "error"},
                        {"error", "this replica is not the leader (" + not_leader +
                                      "): approve on the lease holder"}});
    }
    const RegionDecision d = *rs.pending;
    StartRegion(rf, rs, d, "api", Clock::now());
    return Json(202, {{"status", "success"}, {"data", DecisionJson(d)}});
  }
  return Json(404, {{"status", "error"},
                    {"error", "no region_failover is configured for " + cluster + "/" + region}});
}

http::HttpResponse ActionEngine::HandleActions(const http::HttpRequest& request) {
  return impl_->HandleActions(request);
}

http::HttpResponse ActionEngine::HandleRegionApprove(const http::HttpRequest& request) {
  return impl_->HandleRegionApprove(request);
}

}  // namespace pgdr::actions

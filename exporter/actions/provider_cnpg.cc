// cnpg: asks CloudNativePG to promote the candidate as `kubectl cnpg promote`
// does: it reads the Cluster, refuses a fenced instance, then merge-patches
// the Cluster's status subresource with targetPrimary, targetPrimaryTimestamp
// (RFC 3339 with microseconds: what the operator parses), phase "Switchover
// in progress", phaseReason and the Ready condition set to False, carrying the
// resourceVersion it read (optimistic locking: a concurrent change answers
// 409 and nothing is written).
//
// A regional promotion (plan.region) promotes a replica cluster instead:
// spec.replica.enabled=false (or, in the distributed topology,
// spec.replica.primary set to spec.replica.self), as `kubectl cnpg` users do
// by hand; the operator then promotes its designated primary.
#include <chrono>
#include <nlohmann/json.hpp>

#include "actions/provider_table.h"
#include "pgdr/core/time_format.h"
#include "pgdr/http/client.h"

namespace pgdr::actions {
namespace {

using nlohmann::json;

constexpr const char* kFencedAnnotation = "cnpg.io/fencedInstances";

std::string Rfc3339Micro(std::chrono::system_clock::time_point t) {
  // "2026-12-03T10:11:12.123456Z": Go's metav1.RFC3339Micro.
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch());
  const auto secs = std::chrono::floor<std::chrono::seconds>(us);
  std::string whole = core::FormatRfc3339(std::chrono::system_clock::time_point(secs),
                                          core::Fraction::kNone);  // "...:12Z"
  std::string micros = std::to_string((us - secs).count());        // 0..999999
  micros.insert(0, 6 - micros.size(), '0');
  whole.insert(whole.size() - 1, "." + micros);
  return whole;
}

bool Fenced(const json& cluster, const std::string& instance) {
  const auto md = cluster.find("metadata");
  if (md == cluster.end() || !md->contains("annotations")) return false;
  const json& annotations = (*md)["annotations"];
  if (!annotations.is_object() || !annotations.contains(kFencedAnnotation)) return false;
  const json& value = annotations[kFencedAnnotation];
  if (!value.is_string()) return false;
  const json list = json::parse(value.get<std::string>(), nullptr, false);
  if (!list.is_array()) return false;
  for (const auto& v : list) {
    if (v == "*" || v == instance) return true;
  }
  return false;
}

// status.conditions with Ready set to False (reason ClusterIsNotReady), as
// the operator's SetClusterReadyCondition does for any phase but healthy;
// lastTransitionTime changes only when the status does.
json NotReadyConditions(const json& status, const std::string& now) {
  json out = json::array();
  bool found = false;
  if (status.contains("conditions") && status["conditions"].is_array()) {
    for (json c : status["conditions"]) {
      if (c.value("type", "") == "Ready") {
        found = true;
        if (c.value("status", "") != "False") c["lastTransitionTime"] = now;
        c["status"] = "False";
        c["reason"] = "ClusterIsNotReady";
        c["message"] = "Cluster Is Not Ready";
      }
      out.push_back(std::move(c));
    }
  }
  if (!found) {
    out.push_back({{"type", "Ready"},
                   {"status", "False"},
                   {"reason", "ClusterIsNotReady"},
                   {"message", "Cluster Is Not Ready"},
                   {"lastTransitionTime", now}});
  }
  return out;
}

class Cnpg final : public FailoverProvider {
 public:
  std::string_view name() const override { return "cnpg"; }
  ProviderNeeds needs() const override { return {.http = true, .kubernetes = true}; }

  core::Status Promote(const FailoverPlan& plan,
                       std::chrono::steady_clock::time_point deadline) const override {
    const Trigger& t = plan.trigger;
    const std::string cluster = t.cnpg_cluster.empty() ? plan.cluster : t.cnpg_cluster;
    const std::string what = "Cluster " + t.k8s_namespace + "/" + cluster;
    std::string base = t.http.url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    const std::string url =
        base + "/apis/postgresql.cnpg.io/v1/namespaces/" + t.k8s_namespace + "/clusters/" + cluster;
    http::Client client;

    http::ClientRequest get = AuthorizedRequest(t.http, Remaining(deadline));
    get.url = url;
    get.headers.push_back("Accept: application/json");
    auto got = client.Send(get);
    if (core::Status st = CheckSent(got, get); !st.ok()) {
      return core::Status::IOError("GET " + what + ": " + st.message());
    }
    const json current = json::parse(got->body, nullptr, false);
    if (!current.is_object() || !current.contains("metadata")) {
      return core::Status::IOError("GET " + what + ": not a Cluster object");
    }
    const std::string rv = current["metadata"].value("resourceVersion", "");
    const json status = current.value("status", json::object());

    http::ClientRequest patch = AuthorizedRequest(t.http, Remaining(deadline));
    patch.method = "PATCH";
    patch.headers.push_back("Content-Type: application/merge-patch+json");
    if (plan.region) {
      const json replica = current.value("spec", json::object()).value("replica", json::object());
      json change = {{"enabled", false}};
      if (!replica.contains("enabled") && replica.contains("self") && replica.contains("primary")) {
        change = {{"primary", replica["self"]}};  // distributed topology
      }
      patch.url = url;
      patch.body =
          json{{"metadata", {{"resourceVersion", rv}}}, {"spec", {{"replica", change}}}}.dump();
    } else {
      const std::string& instance = plan.decision.candidate;
      if (status.value("targetPrimary", "") == instance &&
          status.value("currentPrimary", "") == instance) {
        return core::Status::OK();  // already the primary: nothing to ask
      }
      if (Fenced(current, instance)) {
        return core::Status::InvalidArgument(what + ": " + instance +
                                             " is fenced and cannot be promoted");
      }
      const std::string now = Rfc3339Micro(std::chrono::system_clock::now());
      patch.url = url + "/status";
      patch.body = json{{"metadata", {{"resourceVersion", rv}}},
                        {"status",
                         {{"targetPrimary", instance},
                          {"targetPrimaryTimestamp", now},
                          {"phase", "Switchover in progress"},
                          {"phaseReason", "Switching over to " + instance},
                          {"conditions", NotReadyConditions(status, now)}}}}
                       .dump();
    }
    core::Status st = CheckSent(client.Send(patch), patch);
    if (st.ok()) return st;
    return core::Status::IOError("PATCH " + what + (plan.region ? "" : " status") + ": " +
                                 st.message());
  }
};

}  // namespace

const FailoverProvider& CnpgProvider() {
  static const Cnpg provider;
  return provider;
}

}  // namespace pgdr::actions

// The Kubernetes Lease driver: a coordination.k8s.io/v1 Lease through the
// API server, with client-go's leader-election semantics (resourcelock
// LeaseLock):
//   acquire: GET the Lease; absent (404): POST it with this replica as
//            holderIdentity; held by another: take it over only once its
//            leaseDurationSeconds have passed, on *this* replica's clock,
//            since it first saw the current record (renewTime is never
//            compared with the local wall clock, so clock skew between nodes
//            does not matter); released (no holderIdentity) or expired: PUT
//            with the resourceVersion read, so of two replicas racing for it
//            the API server lets exactly one win (the other gets 409);
//   renew:   PUT renewTime with the resourceVersion of the last write; 409
//            (someone else wrote it) or 404 (deleted) means the lease is lost;
//   release: PUT holderIdentity "" and leaseDurationSeconds 1, as client-go's
//            ReleaseOnCancel does, so another replica takes it at once.
// Times are MicroTime: RFC 3339 with exactly six fractional digits, UTC.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "pgdr/http/client.h"
#include "pgdr/http/kubernetes.h"
#include "pgdr/leader/leader_election.h"

namespace pgdr::leader {

namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

std::string MicroTime(std::chrono::system_clock::time_point t) {
  const long long us =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  const time_t secs = static_cast<time_t>(us / 1000000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  const size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%06lldZ", us % 1000000);
  return buf;
}

long long IntField(const json& spec, const char* key) {
  return spec.is_object() && spec.contains(key) && spec[key].is_number_integer()
             ? spec[key].get<long long>()
             : 0;
}

std::string StringField(const json& spec, const char* key) {
  return spec.is_object() && spec.contains(key) && spec[key].is_string()
             ? spec[key].get<std::string>()
             : "";
}

class KubernetesLease : public LeaseBackend {
 public:
  KubernetesLease(config::KubernetesLeaseConfig config, std::string identity)
      : config_(std::move(config)),
        identity_(std::move(identity)),
        api_(http::InClusterDefaults(
            {config_.api_url, config_.bearer_token_file, config_.tls_ca_file})),
        duration_s_((config_.ttl.count() + 999) / 1000) {}

  core::Result<Attempt> TryAcquire() override {
    auto got = Request("GET", LeasePath(), "");
    if (!got.ok()) return got.status();
    if (got->status == 404) return Create();
    if (got->status != 200) return Failed("GET", *got);
    json lease = json::parse(got->body, nullptr, false);
    if (!lease.is_object() || !lease.contains("metadata")) {
      return core::Status::Corruption("Kubernetes Lease GET answered no object");
    }
    const json spec = lease.value("spec", json::object());
    const std::string holder = StringField(spec, "holderIdentity");
    const std::string rv = lease["metadata"].value("resourceVersion", "");
    // The record changed since last seen: its holder renewed it (or a new
    // holder took it); the holder's lease runs from now on this clock.
    if (rv != observed_rv_) {
      observed_rv_ = rv;
      observed_at_ = SteadyClock::now();
    }
    const std::chrono::seconds held_for(IntField(spec, "leaseDurationSeconds"));
    Attempt a;
    if (!holder.empty() && holder != identity_ && SteadyClock::now() < observed_at_ + held_for) {
      a.holder = holder;
      return a;
    }
    // Free, expired, or already this identity's (a restart with a fixed
    // identity): take it with the resourceVersion read.
    const auto now = MicroTime(std::chrono::system_clock::now());
    json next = spec;
    next["holderIdentity"] = identity_;
    next["leaseDurationSeconds"] = duration_s_;
    next["renewTime"] = now;
    if (holder != identity_) {
      next["acquireTime"] = now;
      next["leaseTransitions"] = IntField(spec, "leaseTransitions") + 1;
    }
    lease["spec"] = next;
    auto put = Request("PUT", LeasePath(), lease.dump());
    if (!put.ok()) return put.status();
    if (put->status == 409 || put->status == 404) {
      a.holder = "";  // another replica won the race; the next GET says who
      return a;
    }
    if (put->status != 200) return Failed("PUT", *put);
    return Took(*put);
  }

  core::Result<milliseconds> Renew() override {
    if (!lease_.is_object()) return core::Status::NotFound("no Lease held");
    json lease = lease_;
    lease["spec"]["renewTime"] = MicroTime(std::chrono::system_clock::now());
    auto put = Request("PUT", LeasePath(), lease.dump());
    if (!put.ok()) return put.status();
    if (put->status == 409) {
      lease_ = nullptr;
      return core::Status::NotFound("the Lease was written by another replica (409 Conflict)");
    }
    if (put->status == 404) {
      lease_ = nullptr;
      return core::Status::NotFound("the Lease was deleted");
    }
    if (put->status != 200) return Failed("PUT", *put);
    json answer = json::parse(put->body, nullptr, false);
    if (!answer.is_object() ||
        StringField(answer.value("spec", json::object()), "holderIdentity") != identity_) {
      return core::Status::Corruption("Kubernetes Lease PUT answered another object");
    }
    lease_ = std::move(answer);
    return milliseconds(std::chrono::seconds(duration_s_));
  }

  void Release() override {
    if (!lease_.is_object()) return;
    json lease = lease_;
    lease_ = nullptr;
    const auto now = MicroTime(std::chrono::system_clock::now());
    lease["spec"]["holderIdentity"] = "";
    lease["spec"]["leaseDurationSeconds"] = 1;
    lease["spec"]["acquireTime"] = now;
    lease["spec"]["renewTime"] = now;
    // Best effort: a 409 means another replica already holds it; an
    // unreleased Lease expires after leaseDurationSeconds anyway.
    (void)Request("PUT", LeasePath(), lease.dump());
  }

  std::string backend() const override { return "kubernetes"; }
  std::string lock() const override { return config_.namespace_name + "/" + config_.name; }

 private:
  std::string CollectionPath() const {
    return "/apis/coordination.k8s.io/v1/namespaces/" + config_.namespace_name + "/leases";
  }
  std::string LeasePath() const { return CollectionPath() + "/" + config_.name; }

  core::Result<Attempt> Create() {
    const auto now = MicroTime(std::chrono::system_clock::now());
    const json lease{{"apiVersion", "coordination.k8s.io/v1"},
                     {"kind", "Lease"},
                     {"metadata", {{"name", config_.name}, {"namespace", config_.namespace_name}}},
                     {"spec",
                      {{"holderIdentity", identity_},
                       {"leaseDurationSeconds", duration_s_},
                       {"acquireTime", now},
                       {"renewTime", now},
                       {"leaseTransitions", 0}}}};
    auto post = Request("POST", CollectionPath(), lease.dump());
    if (!post.ok()) return post.status();
    if (post->status == 409) return Attempt{};  // created by another replica just now
    if (post->status != 201 && post->status != 200) return Failed("POST", *post);
    return Took(*post);
  }

  core::Result<Attempt> Took(const http::ClientResponse& resp) {
    json answer = json::parse(resp.body, nullptr, false);
    if (!answer.is_object() || !answer.contains("metadata")) {
      return core::Status::Corruption("Kubernetes Lease write answered no object");
    }
    lease_ = std::move(answer);
    observed_rv_ = lease_["metadata"].value("resourceVersion", "");
    observed_at_ = SteadyClock::now();
    Attempt a;
    a.acquired = true;
    a.ttl = std::chrono::seconds(duration_s_);
    return a;
  }

  core::Result<http::ClientResponse> Request(const std::string& method, const std::string& path,
                                             const std::string& body) {
    return http::KubernetesRequest(client_, api_, method, path, config_.timeout,
                                   body.empty() ? "" : "application/json", body);
  }

  // An answer that is neither success nor a lost race: the API server's
  // Status message (never the token) for the log.
  core::Status Failed(const std::string& verb, const http::ClientResponse& resp) const {
    const json status = json::parse(resp.body, nullptr, false);
    const std::string message = status.is_object() ? status.value("message", "") : "";
    return core::Status::IOError("Kubernetes Lease " + verb + " " + lock() + ": HTTP " +
                                 std::to_string(resp.status) +
                                 (message.empty() ? "" : ": " + message.substr(0, 200)));
  }

  const config::KubernetesLeaseConfig config_;
  const std::string identity_;
  const http::KubernetesApi api_;
  const long long duration_s_;
  http::Client client_;
  json lease_;               // the Lease as last written by this holder; null when not held
  std::string observed_rv_;  // the record last seen, and when (this replica's clock)
  SteadyClock::time_point observed_at_{};
};

}  // namespace

std::unique_ptr<LeaseBackend> MakeKubernetesBackend(const config::KubernetesLeaseConfig& config,
                                                    const std::string& identity) {
  return std::make_unique<KubernetesLease>(config, identity);
}

}  // namespace pgdr::leader

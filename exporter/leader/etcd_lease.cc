// The etcd v3 lease driver: etcd's JSON gateway (grpc-gateway), where keys
// and values are base64 and 64-bit integers are strings.
//   acquire: POST /v3/lease/grant {TTL}, then POST /v3/kv/txn comparing the
//            key's create_revision with 0 (absent), putting it with the
//            lease on success and reading it (the holder) on failure; a
//            lease that did not win is revoked at once;
//   renew:   POST /v3/lease/keepalive {ID}: an answer without TTL means the
//            lease expired;
//   release: POST /v3/lease/revoke {ID}, which deletes the key with it.
// Endpoints are tried in order; the one that answered is asked first next.
#include <openssl/evp.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pgdr/http/client.h"
#include "pgdr/leader/leader_election.h"

namespace pgdr::leader {

namespace {

using nlohmann::json;

std::string Base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string Unbase64(const std::string& in) {
  if (in.empty() || in.size() % 4 != 0) return "";
  std::string out(3 * in.size() / 4, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0) return "";
  size_t size = static_cast<size_t>(n);
  for (size_t i = in.size(); i > 0 && in[i - 1] == '=' && size > 0; --i) --size;  // padding
  out.resize(size);
  return out;
}

// A grpc-gateway int64: a string, or a number from other gateways.
long long Int64(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return 0;
  const json& v = j[key];
  if (v.is_number_integer()) return v.get<long long>();
  if (v.is_string()) {
    try {
      return std::stoll(v.get<std::string>());
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

class EtcdLease : public LeaseBackend {
 public:
  EtcdLease(config::EtcdLeaseConfig config, std::string identity)
      : config_(std::move(config)), identity_(std::move(identity)) {}

  core::Result<Attempt> TryAcquire() override {
    const long long ttl_seconds = (config_.ttl.count() + 999) / 1000;
    auto grant = Post("/v3/lease/grant", json{{"TTL", std::to_string(ttl_seconds)}});
    if (!grant.ok()) return grant.status();
    const long long id = Int64(*grant, "ID");
    const long long granted = Int64(*grant, "TTL");
    if (id == 0 || granted <= 0) {
      return core::Status::Corruption("etcd lease grant answered without ID or TTL");
    }
    const std::string key = Base64(config_.key);
    const json txn{
        {"compare", json::array({{{"key", key},
                                  {"result", "EQUAL"},
                                  {"target", "CREATE"},
                                  {"create_revision", "0"}}})},
        {"success",
         json::array(
             {{{"request_put",
                {{"key", key}, {"value", Base64(identity_)}, {"lease", std::to_string(id)}}}}})},
        {"failure", json::array({{{"request_range", {{"key", key}}}}})}};
    auto answer = Post("/v3/kv/txn", txn);
    if (!answer.ok()) {
      Revoke(id);
      return answer.status();
    }
    Attempt a;
    if (answer->value("succeeded", false)) {
      lease_ = id;
      a.acquired = true;
      a.ttl = std::chrono::seconds(granted);
      return a;
    }
    Revoke(id);
    // failure: responses[0].response_range.kvs[0].value
    const json& responses = (*answer)["responses"];
    if (responses.is_array() && !responses.empty()) {
      const json& range = responses[0].value("response_range", json::object());
      const json& kvs = range.value("kvs", json::array());
      if (kvs.is_array() && !kvs.empty() && kvs[0].contains("value")) {
        a.holder = Unbase64(kvs[0]["value"].get<std::string>());
      }
    }
    return a;
  }

  core::Result<milliseconds> Renew() override {
    if (lease_ == 0) return core::Status::NotFound("no lease held");
    auto answer = Post("/v3/lease/keepalive", json{{"ID", std::to_string(lease_)}});
    if (!answer.ok()) return answer.status();
    // {"result":{"ID":"..","TTL":"15"}}; an expired lease answers no TTL.
    const json& result = answer->value("result", json::object());
    const long long ttl = Int64(result, "TTL");
    if (ttl <= 0) {
      lease_ = 0;
      return core::Status::NotFound("the etcd lease expired");
    }
    return milliseconds(std::chrono::seconds(ttl));
  }

  void Release() override {
    if (lease_ != 0) Revoke(lease_);
    lease_ = 0;
  }

  std::string backend() const override { return "etcd"; }
  std::string lock() const override { return config_.key; }

 private:
  void Revoke(long long id) {
    // Best effort: an unrevoked lease expires after its TTL anyway.
    (void)Post("/v3/lease/revoke", json{{"ID", std::to_string(id)}});
  }

  // POSTs `body` to the first endpoint that answers 200 with JSON.
  core::Result<json> Post(const std::string& path, const json& body) {
    core::Status last = core::Status::Unavailable("no etcd endpoint");
    for (size_t i = 0; i < config_.endpoints.size(); ++i) {
      const size_t at = (current_ + i) % config_.endpoints.size();
      http::ClientRequest req;
      req.method = "POST";
      req.url = config_.endpoints[at] + path;
      req.headers = {"Content-Type: application/json"};
      req.body = body.dump();
      req.timeout = config_.timeout;
      auto resp = client_.Send(req);
      if (!resp.ok()) {
        last = resp.status();
        continue;
      }
      // grpc-gateway streams (keepalive) answer one JSON object per line.
      const std::string text = resp->body.substr(0, resp->body.find('\n'));
      json parsed = json::parse(text, nullptr, false);
      if (resp->status != 200 || parsed.is_discarded()) {
        last = core::Status::IOError("etcd POST " + http::RedactUrl(req.url) + ": HTTP " +
                                     std::to_string(resp->status) + " " + text.substr(0, 200));
        if (resp->status < 500 && !parsed.is_discarded()) return last;  // etcd said no
        continue;
      }
      if (parsed.contains("error")) {
        last = core::Status::IOError("etcd POST " + http::RedactUrl(req.url) + ": " +
                                     parsed["error"].dump().substr(0, 200));
        return last;
      }
      current_ = at;
      return parsed;
    }
    return last;
  }

  const config::EtcdLeaseConfig config_;
  const std::string identity_;
  http::Client client_;
  size_t current_ = 0;
  long long lease_ = 0;
};

}  // namespace

std::unique_ptr<LeaseBackend> MakeEtcdBackend(const config::EtcdLeaseConfig& config,
                                              const std::string& identity) {
  return std::make_unique<EtcdLease>(config, identity);
}

}  // namespace pgdr::leader

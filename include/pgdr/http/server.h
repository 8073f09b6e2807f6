// A small HTTP server (civetweb underneath) with exact-path routing, and
// prefix routes for path families (/runbooks/<name>): an exact route wins,
// then the longest matching prefix.
//
// Handlers run on civetweb's worker threads and must only read published,
// immutable state (snapshots, rule-manager copies): a handler never waits on
// a database. Request bodies are capped (kMaxBodyBytes) and requests over the
// cap get 413.
//
// A web config (web_config.h) adds TLS, basic auth and response headers.
// With basic_auth_users every request needs a valid Authorization header
// (exporter-toolkit semantics) or gets 401 with WWW-Authenticate. Users and
// headers change live. TLS is terminated by pgdr itself (tls_listener.h:
// Debian's civetweb cannot do TLS with OpenSSL 3), which relays to civetweb
// on a private loopback listener guarded by a per-process token; new TLS
// settings (certificate, client_auth_type, versions) apply to new
// connections without a restart. Only turning TLS on or off restarts the
// listeners in-process on the same port (requests in flight finish first).
//
// Thread-safety: Route() before Start(); everything else from any thread,
// except that SetWebConfig() after Start() must not run on a handler thread
// (a listener restart waits for the handlers).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "pgdr/core/mutex.h"
#include "pgdr/core/status.h"
#include "pgdr/http/web_config.h"

struct mg_context;
struct mg_connection;

namespace pgdr::http {

class TlsListener;

struct HttpRequest {
  std::string method;
  std::string path;
  std::string query;  // without the '?'
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  static constexpr size_t kMaxBodyBytes = 1 << 20;

  HttpServer();
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void Route(const std::string& path, HttpHandler handler);
  // Every path starting with `prefix` that has no exact route.
  void RoutePrefix(const std::string& prefix, HttpHandler handler);
  // Before or after Start(). An invalid config (unreadable certificate,
  // key not matching) is refused and the running one kept.
  core::Status SetWebConfig(const WebConfig& web) PGDR_EXCLUDES(lifecycle_mu_, security_mu_);
  // `listen_address` as Prometheus writes it: ":9688", "127.0.0.1:9688", "[::1]:9688".
  core::Status Start(const std::string& listen_address, int threads = 4)
      PGDR_EXCLUDES(lifecycle_mu_, security_mu_);
  void Stop() PGDR_EXCLUDES(lifecycle_mu_);
  // The port actually bound (useful with port 0 in tests).
  int port() const { return port_.load(); }
  // Requests answered 401 (missing or wrong basic auth credentials).
  double unauthorized() const { return unauthorized_.load(); }
  // TLS handshakes that failed or timed out (no or a refused client
  // certificate, wrong protocol, plain HTTP on the TLS port).
  double tls_handshake_failures() const;
  // TLS connections closed at once: TlsListener::kMaxConnections were open.
  double tls_connections_rejected() const;
  // Requests on the private listener without the relay's token (403).
  double relay_forbidden() const { return relay_forbidden_.load(); }

 private:
  struct Security;
  struct TlsCounters;
  static int Dispatch(mg_connection* conn, void* self);
  std::shared_ptr<const Security> CurrentSecurity() const PGDR_EXCLUDES(security_mu_);
  // Starts civetweb on the public port, or, with a tls_listener_, on a
  // private loopback port behind the TLS listener on the public one.
  core::Status Listen() PGDR_REQUIRES(lifecycle_mu_);
  void StopListeners() PGDR_REQUIRES(lifecycle_mu_);

  const std::string relay_token_;  // random, per process; never logged
  std::map<std::string, HttpHandler> routes_;
  std::map<std::string, HttpHandler> prefix_routes_;
  core::Mutex lifecycle_mu_;  // Start, Stop and listener restarts
  mg_context* ctx_ PGDR_GUARDED_BY(lifecycle_mu_) = nullptr;
  // Present while TLS is configured (started with the listeners).
  std::unique_ptr<TlsListener> tls_listener_ PGDR_GUARDED_BY(lifecycle_mu_);
  std::string host_ PGDR_GUARDED_BY(lifecycle_mu_);  // "127.0.0.1:" or "" (every interface)
  int threads_ PGDR_GUARDED_BY(lifecycle_mu_) = 4;
  mutable core::Mutex security_mu_;  // a leaf
  std::shared_ptr<const Security> security_ PGDR_GUARDED_BY(security_mu_);
  std::atomic<int> port_{0};
  // civetweb listens only for the relay: requests need relay_token_.
  std::atomic<bool> relay_only_{false};
  std::atomic<double> unauthorized_{0};
  std::atomic<double> relay_forbidden_{0};
  const std::unique_ptr<TlsCounters> tls_counters_;
};

// Parses one value out of a URL query string ("a=1&b=2"), percent-decoded.
std::string QueryParam(const std::string& query, const std::string& name);

}  // namespace pgdr::http

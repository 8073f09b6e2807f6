// A small HTTP server (civetweb underneath) with exact-path routing, and
// prefix routes for path families (/runbooks/<name>): an exact route wins,
// then the longest matching prefix.
//
// Handlers run on civetweb's worker threads and must only read published,
// immutable state (snapshots, rule-manager copies): a handler never waits on
// a database. Request bodies are capped (kMaxBodyBytes) and requests over the
// cap get 413.
//
// Thread-safety: Route() before Start(); everything else from any thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "pgdr/core/status.h"

struct mg_context;
struct mg_connection;

namespace pgdr::http {

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

  HttpServer() = default;
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void Route(const std::string& path, HttpHandler handler);
  // Every path starting with `prefix` that has no exact route.
  void RoutePrefix(const std::string& prefix, HttpHandler handler);
  // `listen_address` as Prometheus writes it: ":9688", "127.0.0.1:9688", "[::1]:9688".
  core::Status Start(const std::string& listen_address, int threads = 4);
  void Stop();
  // The port actually bound (useful with port 0 in tests).
  int port() const { return port_; }

 private:
  static int Dispatch(mg_connection* conn, void* self);
  std::map<std::string, HttpHandler> routes_;
  std::map<std::string, HttpHandler> prefix_routes_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
};

// Parses one value out of a URL query string ("a=1&b=2"), percent-decoded.
std::string QueryParam(const std::string& query, const std::string& name);

}  // namespace pgdr::http

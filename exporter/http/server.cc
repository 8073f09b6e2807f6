#include "pgdr/http/server.h"

#include <civetweb.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "http/tls_context.h"
#include "http/tls_listener.h"
#include "pgdr/core/log.h"
#include "pgdr/http/basic_auth.h"

namespace pgdr::http {
namespace {

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 422:
      return "Unprocessable Entity";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

// A HEAD response carries the headers GET would (Content-Length included)
// and no body (RFC 9110 9.3.2): a body would be read as the next response.
// `extra`: further header lines, each ending in CRLF.
void Write(mg_connection* conn, const HttpResponse& r, bool head, const std::string& extra) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: keep-alive\r\n%s\r\n",
            r.status, Reason(r.status), r.content_type.c_str(), r.body.size(), extra.c_str());
  if (!head && !r.body.empty()) mg_write(conn, r.body.data(), r.body.size());
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

struct HttpServer::Security {
  explicit Security(WebConfig c) : config(std::move(c)), auth(config.users) {
    for (const auto& [name, value] : config.headers) headers += name + ": " + value + "\r\n";
  }
  const WebConfig config;
  const BasicAuth auth;
  std::string headers;  // http_server_config.headers as header lines
};

struct HttpServer::TlsCounters : TlsListener::Counters {};

namespace {

// 32 random bytes, hex: the relay's token.
std::string RandomToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) std::abort();  // no entropy: nothing is safe
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

bool SameToken(const char* given, const std::string& token) {
  return given != nullptr && std::strlen(given) == token.size() &&
         CRYPTO_memcmp(given, token.data(), token.size()) == 0;
}

}  // namespace

std::string QueryParam(const std::string& query, const std::string& name) {
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    std::string_view pair(query.data() + pos, amp - pos);
    const size_t eq = pair.find('=');
    if (Decode(pair.substr(0, eq)) == name) {
      return eq == std::string_view::npos ? "" : Decode(pair.substr(eq + 1));
    }
    pos = amp + 1;
  }
  return "";
}

HttpServer::HttpServer()
    : relay_token_(RandomToken()), tls_counters_(std::make_unique<TlsCounters>()) {}

HttpServer::~HttpServer() { Stop(); }

double HttpServer::tls_handshake_failures() const {
  return tls_counters_->handshake_failures.load();
}

double HttpServer::tls_connections_rejected() const { return tls_counters_->rejected.load(); }

void HttpServer::Route(const std::string& path, HttpHandler handler) {
  routes_[path] = std::move(handler);
}

void HttpServer::RoutePrefix(const std::string& prefix, HttpHandler handler) {
  prefix_routes_[prefix] = std::move(handler);
}

int HttpServer::Dispatch(mg_connection* conn, void* self) {
  auto* server = static_cast<HttpServer*>(self);
  const std::shared_ptr<const Security> security = server->CurrentSecurity();
  const std::string& extra = security ? security->headers : std::string();
  const mg_request_info* info = mg_get_request_info(conn);
  HttpRequest req;
  req.method = info->request_method != nullptr ? info->request_method : "";
  req.path = info->local_uri != nullptr ? info->local_uri : "/";
  req.query = info->query_string != nullptr ? info->query_string : "";
  const bool head = req.method == "HEAD";
  std::string client;
  if (server->relay_only_.load()) {
    // This listener is civetweb's private one: only the relay may use it.
    if (!SameToken(mg_get_header(conn, TlsListener::kTokenHeader), server->relay_token_)) {
      server->relay_forbidden_.fetch_add(1);
      Write(conn, {403, "text/plain; charset=utf-8", "this port only serves pgdr's TLS relay\n"},
            head, "");
      return 403;
    }
    const char* from = mg_get_header(conn, TlsListener::kClientHeader);
    client = from != nullptr ? from : "";
  } else {
    client = std::string(info->remote_addr) + ":" + std::to_string(info->remote_port);
  }
  if (info->content_length > static_cast<long long>(kMaxBodyBytes)) {
    Write(conn, {413, "text/plain; charset=utf-8", "request body too large\n"}, head, extra);
    return 413;
  }
  std::vector<char> buf(8192);
  while (req.body.size() <= kMaxBodyBytes) {
    const int n = mg_read(conn, buf.data(), buf.size());
    if (n <= 0) break;
    req.body.append(buf.data(), static_cast<size_t>(n));
  }
  if (req.body.size() > kMaxBodyBytes) {
    Write(conn, {413, "text/plain; charset=utf-8", "request body too large\n"}, head, extra);
    return 413;
  }
  if (security && security->auth.enabled()) {
    const char* authorization = mg_get_header(conn, "Authorization");
    if (authorization == nullptr || !security->auth.Check(authorization)) {
      server->unauthorized_.fetch_add(1);
      core::Log(core::LogLevel::kDebug, "HTTP request unauthorized",
                {{"client", client}, {"path", req.path}});
      Write(conn, {401, "text/plain; charset=utf-8", "Unauthorized\n"}, head,
            extra + "WWW-Authenticate: Basic realm=\"pgdr\"\r\n");
      return 401;
    }
  }
  const HttpHandler* handler = nullptr;
  if (auto it = server->routes_.find(req.path); it != server->routes_.end()) {
    handler = &it->second;
  } else {
    size_t longest = 0;
    for (const auto& [prefix, h] : server->prefix_routes_) {
      if (req.path.starts_with(prefix) && prefix.size() >= longest) {
        handler = &h;
        longest = prefix.size();
      }
    }
  }
  HttpResponse resp = handler == nullptr
                          ? HttpResponse{404, "text/plain; charset=utf-8", "404 page not found\n"}
                          : (*handler)(req);
  Write(conn, resp, head, extra);
  return resp.status;
}

std::shared_ptr<const HttpServer::Security> HttpServer::CurrentSecurity() const {
  const core::MutexLock lock(security_mu_);
  return security_;
}

core::Status HttpServer::SetWebConfig(const WebConfig& web) {
  SslCtx tls;
  if (web.tls) {
    auto built = NewTlsContext(*web.tls);
    if (!built.ok()) return built.status();
    tls = std::move(*built);
  }
  auto security = std::make_shared<const Security>(web);
  const core::MutexLock lifecycle(lifecycle_mu_);
  {
    const core::MutexLock lock(security_mu_);
    security_ = security;
  }
  const bool was_tls = tls_listener_ != nullptr;
  if (ctx_ != nullptr && was_tls && tls) {
    // A context is rebuilt on every call (the certificate files may have
    // been rotated under the same names); new connections use it.
    tls_listener_->SetContext(std::move(tls));
    return core::Status::OK();
  }
  if (ctx_ != nullptr && !was_tls && !tls) return core::Status::OK();
  const bool running = ctx_ != nullptr;
  if (running) StopListeners();
  tls_listener_ = tls ? std::make_unique<TlsListener>(std::move(tls), relay_token_, kMaxBodyBytes,
                                                      *tls_counters_)
                      : nullptr;
  if (!running) return core::Status::OK();
  core::Log(core::LogLevel::kInfo, "web config: restarting the listener, TLS turned on or off",
            {{"port", std::to_string(port_.load())}, {"tls", web.tls ? "on" : "off"}});
  return Listen();
}

core::Status HttpServer::Start(const std::string& listen_address, int threads) {
  std::string ports = listen_address;
  if (!ports.empty() && ports[0] == ':') ports = ports.substr(1);
  if (ports.empty()) return core::Status::InvalidArgument("empty listen address");
  const size_t colon = ports.rfind(':');
  const std::string port_text = colon == std::string::npos ? ports : ports.substr(colon + 1);
  int port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9' || port > 65535) {
      return core::Status::InvalidArgument("invalid listen address " + listen_address);
    }
    port = port * 10 + (c - '0');
  }
  if (port_text.empty() || port > 65535) {
    return core::Status::InvalidArgument("invalid listen address " + listen_address);
  }
  const core::MutexLock lifecycle(lifecycle_mu_);
  host_ = colon == std::string::npos ? "" : ports.substr(0, colon + 1);
  threads_ = threads;
  port_ = port;
  if (core::Status s = Listen(); !s.ok()) {
    return core::Status::Unavailable("cannot listen on " + listen_address + ": " + s.message());
  }
  return core::Status::OK();
}

core::Status HttpServer::Listen() {
  const bool tls = tls_listener_ != nullptr;
  relay_only_ = tls;
  const std::string ports = tls ? "127.0.0.1:0" : host_ + std::to_string(port_.load());
  const std::string thread_count = std::to_string(threads_);
  const char* options[] = {"listening_ports",
                           ports.c_str(),
                           "num_threads",
                           thread_count.c_str(),
                           "request_timeout_ms",
                           "30000",
                           "enable_keep_alive",
                           "yes",
                           nullptr};
  mg_callbacks callbacks{};
  ctx_ = mg_start(&callbacks, this, options);
  if (ctx_ == nullptr) return core::Status::Unavailable("address in use, or invalid");
  mg_set_request_handler(ctx_, "/", &HttpServer::Dispatch, this);
  mg_server_port server_ports[4];
  const int n = mg_get_server_ports(ctx_, 4, server_ports);
  const int bound = n > 0 ? server_ports[0].port : 0;
  if (!tls) {
    port_ = bound;
    return core::Status::OK();
  }
  const std::string host = host_.empty() ? "" : host_.substr(0, host_.size() - 1);
  if (core::Status s = tls_listener_->Start(host, port_.load(), bound); !s.ok()) {
    mg_stop(ctx_);
    ctx_ = nullptr;
    return s;
  }
  port_ = tls_listener_->port();
  return core::Status::OK();
}

void HttpServer::StopListeners() {
  // The relay first: its connections are civetweb's clients.
  if (tls_listener_) tls_listener_->Stop();
  if (ctx_ != nullptr) {
    mg_stop(ctx_);
    ctx_ = nullptr;
  }
}

void HttpServer::Stop() {
  const core::MutexLock lifecycle(lifecycle_mu_);
  StopListeners();
}

}  // namespace pgdr::http

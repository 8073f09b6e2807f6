#include "pgdr/http/server.h"

#include <civetweb.h>

#include <cstring>
#include <vector>

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
void Write(mg_connection* conn, const HttpResponse& r, bool head) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: keep-alive\r\n\r\n",
            r.status, Reason(r.status), r.content_type.c_str(), r.body.size());
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

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(const std::string& path, HttpHandler handler) {
  routes_[path] = std::move(handler);
}

void HttpServer::RoutePrefix(const std::string& prefix, HttpHandler handler) {
  prefix_routes_[prefix] = std::move(handler);
}

int HttpServer::Dispatch(mg_connection* conn, void* self) {
  auto* server = static_cast<HttpServer*>(self);
  const mg_request_info* info = mg_get_request_info(conn);
  HttpRequest req;
  req.method = info->request_method != nullptr ? info->request_method : "";
  req.path = info->local_uri != nullptr ? info->local_uri : "/";
  req.query = info->query_string != nullptr ? info->query_string : "";
  const bool head = req.method == "HEAD";
  if (info->content_length > static_cast<long long>(kMaxBodyBytes)) {
    Write(conn, {413, "text/plain; charset=utf-8", "request body too large\n"}, head);
    return 413;
  }
  std::vector<char> buf(8192);
  while (req.body.size() <= kMaxBodyBytes) {
    const int n = mg_read(conn, buf.data(), buf.size());
    if (n <= 0) break;
    req.body.append(buf.data(), static_cast<size_t>(n));
  }
  if (req.body.size() > kMaxBodyBytes) {
    Write(conn, {413, "text/plain; charset=utf-8", "request body too large\n"}, head);
    return 413;
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
  Write(conn, resp, head);
  return resp.status;
}

core::Status HttpServer::Start(const std::string& listen_address, int threads) {
  std::string ports = listen_address;
  if (!ports.empty() && ports[0] == ':') ports = ports.substr(1);
  if (ports.empty()) return core::Status::InvalidArgument("empty listen address");
  const std::string thread_count = std::to_string(threads);
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
  ctx_ = mg_start(&callbacks, nullptr, options);
  if (ctx_ == nullptr) {
    return core::Status::Unavailable("cannot listen on " + listen_address +
                                     " (in use, or invalid)");
  }
  mg_set_request_handler(ctx_, "/", &HttpServer::Dispatch, this);
  mg_server_port server_ports[4];
  const int n = mg_get_server_ports(ctx_, 4, server_ports);
  if (n > 0) port_ = server_ports[0].port;
  return core::Status::OK();
}

void HttpServer::Stop() {
  if (ctx_ != nullptr) {
    mg_stop(ctx_);
    ctx_ = nullptr;
  }
}

}  // namespace pgdr::http

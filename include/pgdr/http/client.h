// The one blocking HTTP client of pgdr, over libcurl: object-store GETs,
// Alertmanager and webhook notifications, Patroni and Kubernetes calls.
//
// Why one: every request pgdr makes must be bounded (a connect and a total
// timeout, a cap on the body kept) and verify TLS unless the operator turns
// it off, whichever module sends it; two wrappers had drifted apart.
// Errors name the method and the URL without its query (which may carry a
// SAS token) and never a header value.
//
// Thread-safety: a Client owns one curl easy handle (connections are reused
// between requests); use it from one thread at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pgdr/core/status.h"

namespace pgdr::http {

struct TlsOptions {
  std::string ca_file;                // CA bundle; empty: the system default
  std::string cert_file, key_file;    // client certificate (mutual TLS); empty: none
  bool insecure_skip_verify = false;  // only when the operator says so
};

struct ClientRequest {
  std::string method = "GET";
  std::string url;                   // http:// or https:// only
  std::vector<std::string> headers;  // "Name: value", sent exactly as given
  std::string body;                  // sent for any method but GET and HEAD
  std::chrono::milliseconds timeout{10000};
  size_t max_body = 1 << 20;               // a longer response body is cut and `truncated` set
  std::string basic_user, basic_password;  // basic auth when basic_user is set
  TlsOptions tls;
};

struct ClientResponse {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  bool truncated = false;  // the body exceeded max_body and was cut
};

class Client {
 public:
  Client();
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Transport errors are a non-OK Status (kTimeout for timeouts); any HTTP
  // status, 4xx and 5xx included, is a response.
  core::Result<ClientResponse> Send(const ClientRequest& request);

 private:
  struct Handle;
  std::unique_ptr<Handle> handle_;
};

// `url` without its query and fragment and without user:password@, for messages.
std::string RedactUrl(const std::string& url);

}  // namespace pgdr::http

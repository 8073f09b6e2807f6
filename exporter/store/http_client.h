// A minimal blocking HTTP client over libcurl for the object-store drivers.
//
// Why its own wrapper: every request must be bounded (connect and total
// timeouts, a cap on the body size) and TLS verification must be on unless
// the operator explicitly turns it off, whatever the driver.
//
// Thread-safety: an HttpClient owns one curl easy handle (connection reuse);
// use it from one thread at a time.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pgdr/core/status.h"

namespace pgdr::store {

struct HttpResponse {
  long status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  bool truncated = false;                                    // body exceeded max_body and was cut
};

struct HttpOptions {
  std::chrono::milliseconds timeout{10000};
  std::string ca_file;
  bool insecure_skip_verify = false;
};

class HttpClient {
 public:
  explicit HttpClient(HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Performs one GET. Transport errors and timeouts are a non-OK
  // Status (kTimeout for timeouts); any HTTP status is a response.
  core::Result<HttpResponse> Get(const std::string& url, const std::vector<std::string>& headers,
                                 size_t max_body);

 private:
  HttpOptions options_;
  void* curl_ = nullptr;  // CURL*, owned
};

// Shared by the HTTP drivers so that every store words errors the same:
// a truncated body is kErrTooLarge, 404 NotFound (kErrNotFound), 401/403
// Unavailable (kErrAccessDenied), other non-2xx IOError (kErrHttpStatus);
// `what` names the key or listing, `description` the store.
core::Status CheckHttpResponse(const HttpResponse& response, const std::string& description,
                               const std::string& what, size_t max_body);
// A transport failure (kErrTimeout or kErrRequestFailed) in the same wording.
core::Status TransportError(const core::Status& status, const std::string& description,
                            const std::string& what);
// The `result` label of pgdr_backup_store_requests_total for a request's Status.
std::string_view RequestResult(const core::Status& status);

}  // namespace pgdr::store

#include "store/http_errors.h"

#include <cctype>

#include "pgdr/store/object_store.h"
#include "store/listing_xml.h"

namespace pgdr::store {

core::Status CheckHttpResponse(const HttpResponse& response, const std::string& description,
                               const std::string& what, size_t max_body) {
  if (response.truncated) {
    return core::Status::Corruption(description + ": " + std::string(kErrTooLarge) + " (" +
                                    std::to_string(max_body) + " bytes): " + what);
  }
  if (response.status >= 200 && response.status < 300) return core::Status::OK();
  std::string detail = ParseErrorBody(response.body);
  std::string suffix = ": " + what + (detail.empty() ? "" : " (" + detail + ")");
  if (response.status == 404) {
    return core::Status::NotFound(description + ": " + std::string(kErrNotFound) + suffix);
  }
  if (response.status == 401 || response.status == 403) {
    return core::Status::Unavailable(description + ": " + std::string(kErrAccessDenied) + suffix);
  }
  return core::Status::IOError(description + ": " + std::string(kErrHttpStatus) + " " +
                               std::to_string(response.status) + suffix);
}

core::Status TransportError(const core::Status& status, const std::string& description,
                            const std::string& what) {
  bool timeout = status.code() == core::Status::Code::kTimeout;
  std::string msg = description + ": " + std::string(timeout ? kErrTimeout : kErrRequestFailed) +
                    ": " + what + ": " + status.message();
  return timeout ? core::Status::Timeout(msg) : core::Status::IOError(msg);
}

std::string_view RequestResult(const core::Status& status) {
  switch (status.code()) {
    case core::Status::Code::kOk:
      return "ok";
    case core::Status::Code::kTimeout:
      return "timeout";
    case core::Status::Code::kNotFound:
      return "not_found";
    case core::Status::Code::kUnavailable:
      return "denied";
    default:
      return "error";
  }
}

http::ClientRequest StoreGet(const StoreOptions& options, std::string url,
                             std::vector<std::string> headers, size_t max_body) {
  http::ClientRequest get;
  get.url = std::move(url);
  get.headers = std::move(headers);
  get.timeout = options.timeout;
  get.max_body = max_body;
  get.tls.ca_file = options.ca_file;
  get.tls.insecure_skip_verify = options.insecure_skip_verify;
  return get;
}

}  // namespace pgdr::store

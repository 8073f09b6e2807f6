#include "store/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "pgdr/store/object_store.h"
#include "store/listing_xml.h"

namespace pgdr::store {
namespace {

struct Sink {
  HttpResponse* response;
  size_t max_body;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t n = size * count;
  if (sink->response->body.size() + n > sink->max_body) {
    sink->response->truncated = true;
    return 0;  // aborts the transfer: the caller bounded the size for a reason
  }
  sink->response->body.append(data, n);
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  std::string_view line(data, size * count);
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() &&
           (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
      value.remove_suffix(1);
    }
    sink->response->headers.emplace_back(std::move(name), std::string(value));
  }
  return size * count;
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

HttpClient::HttpClient(HttpOptions options) : options_(std::move(options)) {
  GlobalInit();
  curl_ = curl_easy_init();
}

HttpClient::~HttpClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

core::Result<HttpResponse> HttpClient::Get(const std::string& url,
                                           const std::vector<std::string>& headers,
                                           size_t max_body) {
  auto* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) return core::Status::IOError("curl_easy_init failed");
  curl_easy_reset(curl);
  HttpResponse response;
  Sink sink{&response, max_body};
  curl_slist* list = nullptr;
  for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
  // Stop curl adding "Accept: */*"; signatures cover only what we send.
  list = curl_slist_append(list, "Accept:");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<long long>(options_.timeout.count(), 5000)));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (options_.insecure_skip_verify) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(list);
  if (rc == CURLE_WRITE_ERROR && response.truncated) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    return response;
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return core::Status::Timeout("timed out after " + std::to_string(options_.timeout.count()) +
                                 "ms");
  }
  if (rc != CURLE_OK) return core::Status::IOError(curl_easy_strerror(rc));
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

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

}  // namespace pgdr::store

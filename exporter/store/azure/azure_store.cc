// Azure Blob Storage: List Blobs (with marker) and Get Blob, authorised by
// SharedKey or a SAS token.
#include <algorithm>
#include <chrono>
#include <ctime>

#include "pgdr/core/strings.h"
#include "pgdr/store/object_store.h"
#include "store/http_errors.h"
#include "store/listing_xml.h"
#include "store/signing.h"

namespace pgdr::store {
namespace {

constexpr std::string_view kApiVersion = "2021-08-06";

std::string HttpDate() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

class AzureStore final : public ObjectStore {
 public:
  AzureStore(StoreOptions options, std::string endpoint, std::string account, std::string container,
             std::string root, std::string description)
      : options_(std::move(options)),
        endpoint_(std::move(endpoint)),
        account_(std::move(account)),
        container_(std::move(container)),
        root_(std::move(root)),
        description_(std::move(description)) {}

  core::Status List(const ListOptions& options, const ListVisitor& visit) override {
    std::string marker;
    uint64_t seen = 0;
    do {
      HeaderList query = {{"restype", "container"},
                          {"comp", "list"},
                          {"prefix", root_ + options.prefix},
                          {"maxresults", "5000"}};
      if (options.delimited) query.emplace_back("delimiter", "/");
      if (!marker.empty()) query.emplace_back("marker", marker);
      core::Result<HttpResponse> response = Send("list", "", query, 32 << 20);
      if (!response.ok()) return response.status();
      core::Result<ListPage> page = ParseAzureListBlobs(response->body);
      if (!page.ok())
        return core::Status::Corruption(description_ + ": " + page.status().message());
      std::sort(page->entries.begin(), page->entries.end(),
                [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
      for (ObjectInfo& info : page->entries) {
        if (!info.key.starts_with(root_)) continue;
        info.key.erase(0, root_.size());
        // No server-side start-after: skip here (ListAfter prunes directories).
        if (!options.start_after.empty() && info.key <= options.start_after) continue;
        if (++seen > options_.max_objects) {
          return core::Status::Unavailable(description_ + ": " + std::string(kErrTooManyKeys) +
                                           " (" + std::to_string(options_.max_objects) + ")");
        }
        ++stats_.objects_listed;
        if (core::Status s = visit(info); !s.ok()) return s;
      }
      if (!page->next_token.empty() && page->next_token == marker) {
        return core::Status::Corruption(description_ + ": " + std::string(kErrMalformedListing) +
                                        ": marker did not advance");
      }
      marker = page->next_token;
    } while (!marker.empty());
    return core::Status::OK();
  }

  core::Result<std::string> Read(std::string_view key, size_t max_bytes) override {
    core::Result<HttpResponse> response = Send("read", root_ + std::string(key), {}, max_bytes);
    if (!response.ok()) return response.status();
    return std::move(response->body);
  }

  Capabilities capabilities() const override { return {false}; }
  const std::string& description() const override { return description_; }

 private:
  core::Result<HttpResponse> Send(std::string_view operation, const std::string& key,
                                  const HeaderList& query, size_t max_body) {
    auto started = std::chrono::steady_clock::now();
    core::Result<HttpResponse> response = SendOnce(key, query, max_body);
    core::Status status =
        response.ok() ? CheckHttpResponse(*response, description_,
                                          key.empty() ? "list " + container_ : key, max_body)
                      : response.status();
    stats_.Record(
        operation, RequestResult(status),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (!status.ok()) return status;
    return response;
  }

  core::Result<HttpResponse> SendOnce(const std::string& key, const HeaderList& query,
                                      size_t max_body) {
    std::string path = PathOf(endpoint_) + "/" + container_;
    if (!key.empty()) {
      path += '/';
      path += core::PercentEncode(key, core::Escape::kPath);
    }
    std::string url = HostOf(endpoint_) + path;
    std::vector<std::string> headers = {"x-ms-date: " + HttpDate(),
                                        "x-ms-version: " + std::string(kApiVersion)};
    std::string canonical_query = CanonicalQuery(query);
    core::Result<std::string> key_secret = ReadSecret(options_.account_key, "AZURE_STORAGE_KEY");
    if (key_secret.ok() && options_.sas_token.env.empty() && options_.sas_token.file.empty()) {
      AzureSharedKeyRequest request;
      request.path = path;
      request.query = query;
      request.headers = {{"x-ms-date", headers[0].substr(10)},
                         {"x-ms-version", std::string(kApiVersion)}};
      headers.push_back("Authorization: " +
                        AzureSharedKeyAuthorization(request, account_, *key_secret));
    } else {
      core::Result<std::string> sas = ReadSecret(options_.sas_token, "AZURE_STORAGE_SAS_TOKEN");
      if (!sas.ok()) {
        return core::Status::Unavailable(description_ + ": " + std::string(kErrCredentials) +
                                         ": neither an account key nor a SAS token");
      }
      std::string token = *sas;
      if (!token.empty() && token.front() == '?') token.erase(0, 1);
      if (!token.empty()) canonical_query += (canonical_query.empty() ? "" : "&") + token;
    }
    if (!canonical_query.empty()) url += "?" + canonical_query;
    core::Result<HttpResponse> response =
        http_.Send(StoreGet(options_, std::move(url), std::move(headers), max_body));
    if (!response.ok()) {
      return TransportError(response.status(), description_,
                            key.empty() ? "list " + container_ : key);
    }
    return response;
  }

  // endpoint_ is scheme://host[:port][/path]
  static std::string HostOf(const std::string& endpoint) {
    size_t start = endpoint.find("://") + 3;
    return endpoint.substr(0, endpoint.find('/', start));
  }
  static std::string PathOf(const std::string& endpoint) {
    size_t start = endpoint.find("://") + 3;
    size_t slash = endpoint.find('/', start);
    return slash == std::string::npos ? "" : endpoint.substr(slash);
  }

  StoreOptions options_;
  std::string endpoint_, account_, container_, root_, description_;
  http::Client http_;
};

}  // namespace

core::Result<std::unique_ptr<ObjectStore>> MakeAzureStore(const StoreOptions& options) {
  std::string rest = options.url.substr(std::string_view("azure://").size());
  size_t slash = rest.find('/');
  std::string container = rest.substr(0, slash);
  std::string root = slash == std::string::npos ? "" : rest.substr(slash + 1);
  while (!root.empty() && root.back() == '/') root.pop_back();
  if (!root.empty()) root += '/';
  if (container.empty())
    return core::Status::InvalidArgument("url \"" + options.url + "\": no container");
  std::string account = options.account_name;
  if (account.empty()) {
    core::Result<std::string> env = ReadSecret(SecretSource{}, "AZURE_STORAGE_ACCOUNT");
    if (!env.ok()) {
      return core::Status::InvalidArgument(
          "url \"" + options.url + "\": account_name is required (or $AZURE_STORAGE_ACCOUNT)");
    }
    account = *env;
  }
  std::string endpoint = options.endpoint;
  if (endpoint.empty()) endpoint = "https://" + account + ".blob.core.windows.net";
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  if (!endpoint.starts_with("http://") && !endpoint.starts_with("https://")) {
    return core::Status::InvalidArgument("endpoint \"" + endpoint +
                                         "\": scheme must be http or https");
  }
  std::string description = "azure://" + container + (root.empty() ? "" : "/" + root);
  if (description.back() == '/') description.pop_back();
  return std::unique_ptr<ObjectStore>(
      std::make_unique<AzureStore>(options, endpoint, account, container, root, description));
}

}  // namespace pgdr::store

// Azure Blob Storage: List Blobs (with marker) and Get Blob, authorised by
// SharedKey or a SAS token.
#include "pgdr/core/strings.h"
#include "pgdr/core/time_format.h"
#include "pgdr/store/object_store.h"
#include "store/http_store.h"

namespace pgdr::store {
namespace {

constexpr std::string_view kApiVersion = "2021-08-06";

class AzureStore final : public HttpObjectStore {
 public:
  AzureStore(StoreOptions options, std::string endpoint, std::string account, std::string container,
             std::string root, std::string description)
      : HttpObjectStore(std::move(options), std::move(container), std::move(root),
                        std::move(description), {"marker", 32 << 20}),
        endpoint_(std::move(endpoint)),
        account_(std::move(account)) {}

  // No server-side start-after: the shared List skips (ListAfter prunes
  // whole directories).
  Capabilities capabilities() const override { return {false}; }

 private:
  HeaderList PageQuery(const ListOptions& options, const std::string& marker) const override {
    HeaderList query = {{"restype", "container"},
                        {"comp", "list"},
                        {"prefix", root_ + options.prefix},
                        {"maxresults", "5000"}};
    if (options.delimited) query.emplace_back("delimiter", "/");
    if (!marker.empty()) query.emplace_back("marker", marker);
    return query;
  }

  core::Result<ListPage> ParsePage(std::string_view body) const override {
    return ParseAzureListBlobs(body);
  }

  core::Result<HttpResponse> SendOnce(const std::string& key, const HeaderList& query,
                                      size_t max_body) override {
    std::string path = PathOf(endpoint_) + "/" + container_;
    if (!key.empty()) {
      path += '/';
      path += core::PercentEncode(key, core::Escape::kPath);
    }
    std::string url = HostOf(endpoint_) + path;
    std::vector<std::string> headers = {
        "x-ms-date: " + core::FormatUtcNow("%a, %d %b %Y %H:%M:%S GMT"),
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
      return TransportError(response.status(), description_, What(key));
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

  std::string endpoint_, account_;
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

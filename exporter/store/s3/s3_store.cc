#include "store/s3/s3_store.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "pgdr/core/strings.h"
#include "pgdr/core/time_format.h"
#include "store/http_store.h"

namespace pgdr::store {
namespace {

constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct Endpoint {
  std::string scheme;  // "https://"
  std::string host;    // host[:port]
  std::string path;    // "" or "/base"
};

core::Result<Endpoint> ParseEndpoint(const std::string& url) {
  Endpoint e;
  size_t sep = url.find("://");
  if (sep == std::string::npos) {
    return core::Status::InvalidArgument("endpoint \"" + url + "\": expected scheme://host[:port]");
  }
  e.scheme = url.substr(0, sep + 3);
  if (e.scheme != "http://" && e.scheme != "https://") {
    return core::Status::InvalidArgument("endpoint \"" + url + "\": scheme must be http or https");
  }
  std::string rest = url.substr(sep + 3);
  size_t slash = rest.find('/');
  e.host = rest.substr(0, slash);
  if (slash != std::string::npos) e.path = rest.substr(slash);
  while (!e.path.empty() && e.path.back() == '/') e.path.pop_back();
  if (e.host.empty()) return core::Status::InvalidArgument("endpoint \"" + url + "\": no host");
  return e;
}

class S3Store final : public HttpObjectStore {
 public:
  S3Store(StoreOptions options, Endpoint endpoint, std::string bucket, std::string root,
          std::string region, std::string description)
      : HttpObjectStore(std::move(options), std::move(bucket), std::move(root),
                        std::move(description), {"continuation token", 16 << 20}),
        endpoint_(std::move(endpoint)),
        region_(std::move(region)) {
    path_style_ = options_.path_style.value_or(!options_.endpoint.empty());
  }

  Capabilities capabilities() const override { return {true}; }

 private:
  HeaderList PageQuery(const ListOptions& options, const std::string& token) const override {
    HeaderList query = {{"list-type", "2"}, {"prefix", root_ + options.prefix}};
    if (!options.start_after.empty())
      query.emplace_back("start-after", root_ + options.start_after);
    if (options.delimited) query.emplace_back("delimiter", "/");
    if (!token.empty()) query.emplace_back("continuation-token", token);
    return query;
  }

  core::Result<ListPage> ParsePage(std::string_view body) const override {
    return ParseS3ListObjectsV2(body);
  }

  // Explicit *_file/*_env sources, else $AWS_ACCESS_KEY_ID..., else the
  // shared credentials file ($AWS_SHARED_CREDENTIALS_FILE or
  // ~/.aws/credentials, profile $AWS_PROFILE or "default").
  core::Result<AwsCredentials> Credentials() const {
    core::Result<std::string> access = ReadSecret(options_.access_key_id, "AWS_ACCESS_KEY_ID");
    core::Result<std::string> secret =
        ReadSecret(options_.secret_access_key, "AWS_SECRET_ACCESS_KEY");
    bool explicit_source =
        !options_.access_key_id.env.empty() || !options_.access_key_id.file.empty();
    if (access.ok() && secret.ok()) {
      core::Result<std::string> token = ReadSecret(options_.session_token, "AWS_SESSION_TOKEN");
      return AwsCredentials{*access, *secret, token.ok() ? *token : ""};
    }
    if (!explicit_source) {
      const char* file = std::getenv("AWS_SHARED_CREDENTIALS_FILE");
      const char* home = std::getenv("HOME");
      std::string path = file != nullptr   ? file
                         : home != nullptr ? std::string(home) + "/.aws/credentials"
                                           : "";
      const char* profile = std::getenv("AWS_PROFILE");
      std::ifstream in(path);
      if (!path.empty() && in) {
        std::stringstream text;
        text << in.rdbuf();
        std::optional<AwsCredentials> shared =
            ParseAwsCredentialsFile(text.str(), profile != nullptr ? profile : "default");
        if (shared) return *shared;
      }
    }
    const core::Status& missing = access.ok() ? secret.status() : access.status();
    return core::Status::Unavailable(description_ + ": " + missing.message());
  }

  core::Result<HttpResponse> SendOnce(const std::string& key, const HeaderList& query,
                                      size_t max_body) override {
    core::Result<AwsCredentials> found = Credentials();
    if (!found.ok()) return found.status();
    const AwsCredentials& credentials = *found;

    std::string host = endpoint_.host;
    std::string path = endpoint_.path;
    if (path_style_) {
      path += "/" + container_;
    } else {
      host = container_ + "." + host;
    }
    if (!key.empty() || !path_style_) path += '/';
    path += core::PercentEncode(key, core::Escape::kPath);
    std::string date = core::FormatUtcNow("%Y%m%dT%H%M%SZ");
    SigV4Request request;
    request.canonical_uri = path;
    request.query = query;
    request.payload_sha256 = std::string(kEmptySha256);
    request.headers = {
        {"host", host}, {"x-amz-date", date}, {"x-amz-content-sha256", request.payload_sha256}};
    if (!credentials.session_token.empty()) {
      request.headers.emplace_back("x-amz-security-token", credentials.session_token);
    }
    std::vector<std::string> headers;
    for (const auto& [name, value] : request.headers) {
      if (name != "host") headers.push_back(name + ": " + value);
    }
    headers.push_back("Authorization: " +
                      SigV4Authorization(request, credentials, region_, "s3", date));
    std::string url = endpoint_.scheme + host + path;
    std::string canonical_query = CanonicalQuery(query);
    if (!canonical_query.empty()) url += "?" + canonical_query;
    core::Result<HttpResponse> response =
        http_.Send(StoreGet(options_, std::move(url), std::move(headers), max_body));
    if (!response.ok()) {
      return TransportError(response.status(), description_, What(key));
    }
    return response;
  }

  Endpoint endpoint_;
  std::string region_;
  bool path_style_ = false;
};

}  // namespace

core::Result<std::unique_ptr<ObjectStore>> MakeS3CompatibleStore(const StoreOptions& options,
                                                                 const S3Flavor& flavor) {
  std::string rest = options.url.substr(flavor.scheme.size() + 3);
  size_t slash = rest.find('/');
  std::string bucket = rest.substr(0, slash);
  std::string root = slash == std::string::npos ? "" : rest.substr(slash + 1);
  while (!root.empty() && root.back() == '/') root.pop_back();
  if (!root.empty()) root += '/';
  if (bucket.empty())
    return core::Status::InvalidArgument("url \"" + options.url + "\": no bucket");
  std::string region = flavor.region.empty() ? options.region : flavor.region;
  std::string endpoint_url = options.endpoint;
  if (endpoint_url.empty()) {
    endpoint_url = flavor.default_endpoint.empty() ? "https://s3." + region + ".amazonaws.com"
                                                   : flavor.default_endpoint;
  }
  core::Result<Endpoint> endpoint = ParseEndpoint(endpoint_url);
  if (!endpoint.ok()) return endpoint.status();
  std::string description = flavor.scheme + "://" + bucket + (root.empty() ? "" : "/" + root);
  if (!description.empty() && description.back() == '/') description.pop_back();
  return std::unique_ptr<ObjectStore>(
      std::make_unique<S3Store>(options, *endpoint, bucket, root, region, description));
}

core::Result<std::unique_ptr<ObjectStore>> MakeS3Store(const StoreOptions& options) {
  return MakeS3CompatibleStore(options, S3Flavor{"s3", "", ""});
}

}  // namespace pgdr::store

// Request signing for the object-store drivers: AWS Signature Version 4 (S3
// and GCS's S3-compatible XML API with HMAC keys) and Azure Storage SharedKey.
//
// Pure functions of their inputs (the time is passed in), so that they can be
// checked against the providers' published examples.
//
// Secrets: the results are Authorization header values; never log them.
// Thread-safety: stateless.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgdr::store {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

std::string Sha256Hex(std::string_view data);
std::string HmacSha256(std::string_view key, std::string_view data);  // raw bytes
std::string HexEncode(std::string_view bytes);
std::string Base64Encode(std::string_view bytes);
// Empty on malformed input.
std::string Base64Decode(std::string_view text);

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // optional
};

// The profile's keys in an AWS shared credentials file (~/.aws/credentials:
// INI sections of aws_access_key_id, aws_secret_access_key, aws_session_token).
std::optional<AwsCredentials> ParseAwsCredentialsFile(std::string_view text,
                                                      std::string_view profile);

struct SigV4Request {
  std::string method = "GET";
  std::string canonical_uri;   // already URI-encoded path, e.g. "/bucket/key"
  HeaderList query;            // unencoded name/value pairs
  HeaderList headers;          // must include host and x-amz-date
  std::string payload_sha256;  // hex of the body's hash
};

// The value of the Authorization header. amz_date is "YYYYMMDDTHHMMSSZ".
std::string SigV4Authorization(const SigV4Request& request, const AwsCredentials& credentials,
                               std::string_view region, std::string_view service,
                               std::string_view amz_date);

// The canonical query string of SigV4 (sorted, both sides encoded); drivers
// use the same string in the URL they send.
std::string CanonicalQuery(const HeaderList& query);

struct AzureSharedKeyRequest {
  std::string method = "GET";
  std::string path;    // URL path as sent, e.g. "/container" or "/devstoreaccount1/container"
  HeaderList query;    // unencoded
  HeaderList headers;  // including x-ms-date and x-ms-version
};

// "SharedKey <account>:<signature>"; account_key is the base64 key.
std::string AzureSharedKeyAuthorization(const AzureSharedKeyRequest& request,
                                        std::string_view account, std::string_view account_key);

}  // namespace pgdr::store

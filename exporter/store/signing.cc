#include "store/signing.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>

#include "pgdr/core/strings.h"

namespace pgdr::store {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A header value as SigV4 canonical headers require: trimmed, and runs of
// spaces collapsed to one.
std::string CanonicalValue(std::string_view value) {
  const std::string_view s = core::Trim(value);
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == ' ') {
      if (!space) out += c;
      space = true;
    } else {
      out += c;
      space = false;
    }
  }
  return out;
}

HeaderList SortedLowerHeaders(const HeaderList& headers) {
  HeaderList sorted;
  for (const auto& [name, value] : headers) sorted.emplace_back(Lower(name), CanonicalValue(value));
  std::sort(sorted.begin(), sorted.end());
  return sorted;
}

}  // namespace

std::string HexEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return HexEncode(std::string_view(reinterpret_cast<char*>(digest), sizeof digest));
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &len);
  return std::string(reinterpret_cast<char*>(digest), len);
}

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(n);
  return out;
}

std::string Base64Decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return "";
  std::string out(3 * text.size() / 4 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return "";
  size_t len = static_cast<size_t>(n);
  // EVP_DecodeBlock counts padding as zero bytes.
  if (text.ends_with("==")) {
    len -= 2;
  } else if (text.ends_with("=")) {
    len -= 1;
  }
  out.resize(len);
  return out;
}

std::optional<AwsCredentials> ParseAwsCredentialsFile(std::string_view text,
                                                      std::string_view profile) {
  AwsCredentials credentials;
  bool in_profile = false;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    const std::string_view line = core::Trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      in_profile = core::Trim(line.substr(1, line.size() - 2)) == profile;
      continue;
    }
    size_t eq = line.find('=');
    if (!in_profile || eq == std::string_view::npos) continue;
    std::string key = Lower(core::Trim(line.substr(0, eq)));
    std::string value(core::Trim(line.substr(eq + 1)));
    if (key == "aws_access_key_id") credentials.access_key_id = value;
    if (key == "aws_secret_access_key") credentials.secret_access_key = value;
    if (key == "aws_session_token") credentials.session_token = value;
  }
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return std::nullopt;
  }
  return credentials;
}

std::string CanonicalQuery(const HeaderList& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  for (const auto& [name, value] : query) {
    encoded.emplace_back(core::PercentEncode(name, core::Escape::kComponent),
                         core::PercentEncode(value, core::Escape::kComponent));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out += '&';
    out += name + "=" + value;
  }
  return out;
}

std::string SigV4Authorization(const SigV4Request& request, const AwsCredentials& credentials,
                               std::string_view region, std::string_view service,
                               std::string_view amz_date) {
  HeaderList headers = SortedLowerHeaders(request.headers);
  std::string canonical_headers, signed_headers;
  for (const auto& [name, value] : headers) {
    canonical_headers += name + ":" + value + "\n";
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += name;
  }
  std::string canonical_request = request.method + "\n" + request.canonical_uri + "\n" +
                                  CanonicalQuery(request.query) + "\n" + canonical_headers + "\n" +
                                  signed_headers + "\n" + request.payload_sha256;
  std::string date(amz_date.substr(0, 8));
  std::string scope =
      date + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  std::string string_to_sign = "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + scope + "\n" +
                               Sha256Hex(canonical_request);
  std::string key = HmacSha256("AWS4" + credentials.secret_access_key, date);
  key = HmacSha256(key, region);
  key = HmacSha256(key, service);
  key = HmacSha256(key, "aws4_request");
  std::string signature = HexEncode(HmacSha256(key, string_to_sign));
  return "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" + scope +
         ", SignedHeaders=" + signed_headers + ", Signature=" + signature;
}

std::string AzureSharedKeyAuthorization(const AzureSharedKeyRequest& request,
                                        std::string_view account, std::string_view account_key) {
  auto header = [&](std::string_view name) -> std::string {
    for (const auto& [n, v] : request.headers) {
      if (Lower(n) == name) return v;
    }
    return "";
  };
  std::string content_length = header("content-length");
  if (content_length == "0") content_length.clear();
  std::string to_sign = request.method + "\n" + header("content-encoding") + "\n" +
                        header("content-language") + "\n" + content_length + "\n" +
                        header("content-md5") + "\n" + header("content-type") + "\n" +
                        header("date") + "\n" + header("if-modified-since") + "\n" +
                        header("if-match") + "\n" + header("if-none-match") + "\n" +
                        header("if-unmodified-since") + "\n" + header("range") + "\n";
  for (const auto& [name, value] : SortedLowerHeaders(request.headers)) {
    if (name.starts_with("x-ms-")) to_sign += name + ":" + value + "\n";
  }
  to_sign += '/';
  to_sign += account;
  to_sign += request.path;
  HeaderList query;
  for (const auto& [name, value] : request.query) query.emplace_back(Lower(name), value);
  std::sort(query.begin(), query.end());
  for (size_t i = 0; i < query.size(); ++i) {
    if (i > 0 && query[i].first == query[i - 1].first) {
      to_sign += "," + query[i].second;
    } else {
      to_sign += "\n" + query[i].first + ":" + query[i].second;
    }
  }
  std::string signature = Base64Encode(HmacSha256(Base64Decode(account_key), to_sign));
  return "SharedKey " + std::string(account) + ":" + signature;
}

}  // namespace pgdr::store

#include "pgdr/http/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cctype>
#include <memory>

namespace pgdr::http {
namespace {

// A valid bcrypt hash (of a random string) that unknown users are checked
// against, so a missing user costs what a wrong password costs.
constexpr const char* kDummyHash = "$2y$10$QY5G3oFm2rO3mQ8x3C3bQe6wb7B64wtKj/mfhAjCHA3Wx4UrPNKHO";

std::string Base64Decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return "";
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return "";
  size_t len = static_cast<size_t>(n);
  for (size_t i = text.size(); i > 0 && text[i - 1] == '=' && len > 0; --i) --len;
  out.resize(len);
  return out;
}

std::string Digest(std::string_view a, std::string_view b, std::string_view c) {
  std::string joined;
  for (std::string_view part : {a, b, c}) {
    joined += std::to_string(part.size()) + ":";
    joined += part;
  }
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(joined.data()), joined.size(), md);
  OPENSSL_cleanse(joined.data(), joined.size());
  return std::string(reinterpret_cast<const char*>(md), sizeof md);
}

}  // namespace

bool VerifyBcrypt(const std::string& password, const std::string& hash) {
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_r(password.c_str(), hash.c_str(), data.get());
  bool ok = out != nullptr && out[0] != '*' && std::char_traits<char>::length(out) == hash.size() &&
            CRYPTO_memcmp(out, hash.data(), hash.size()) == 0;
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return ok;
}

bool BasicAuth::Check(std::string_view authorization) const {
  constexpr std::string_view kScheme = "Basic ";
  if (authorization.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size() - 1; ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
        std::tolower(static_cast<unsigned char>(kScheme[i]))) {
      return false;
    }
  }
  if (authorization[kScheme.size() - 1] != ' ') return false;
  std::string decoded = Base64Decode(authorization.substr(kScheme.size()));
  const size_t colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  const std::string user = decoded.substr(0, colon);
  std::string password = decoded.substr(colon + 1);
  OPENSSL_cleanse(decoded.data(), decoded.size());
  const auto it = users_.find(user);
  const std::string hash = it == users_.end() ? std::string(kDummyHash) : it->second;
  const std::string key = Digest(user, hash, password);
  bool verified = false;
  bool cached = false;
  {
    const core::MutexLock lock(mu_);
    if (auto c = cache_.find(key); c != cache_.end()) {
      verified = c->second;
      cached = true;
    }
  }
  if (!cached) {
    verified = VerifyBcrypt(password, hash) && it != users_.end();
    const core::MutexLock lock(mu_);
    if (cache_.size() >= kMaxCached) cache_.clear();
    cache_[key] = verified;
  }
  OPENSSL_cleanse(password.data(), password.size());
  return verified && it != users_.end();
}

}  // namespace pgdr::http

// HTTP basic auth against the bcrypt hashes of a web config
// (basic_auth_users), verified with libxcrypt's crypt_r.
//
// bcrypt costs tens of milliseconds by design, so a verified (user, hash,
// password) triple is cached by a SHA-256 of the three, as exporter-toolkit
// does: a Prometheus scraping every 15 s pays bcrypt once. Unknown users are
// checked against a dummy hash so their answer takes as long as a known one.
//
// Thread-safety: Check() from any thread.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "pgdr/core/mutex.h"

namespace pgdr::http {

class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users) : users_(std::move(users)) {}

  bool enabled() const { return !users_.empty(); }
  // `authorization`: the Authorization header's value ("Basic <base64>").
  bool Check(std::string_view authorization) const PGDR_EXCLUDES(mu_);

 private:
  static constexpr size_t kMaxCached = 1024;
  const std::map<std::string, std::string> users_;
  mutable core::Mutex mu_;
  mutable std::map<std::string, bool> cache_ PGDR_GUARDED_BY(mu_);  // digest -> verified
};

// Whether `password` matches a crypt(3) `hash`; constant-time compare.
bool VerifyBcrypt(const std::string& password, const std::string& hash);

}  // namespace pgdr::http

// An OpenSSL SSL_CTX built from a web config's tls_server_config for pgdr's
// TLS listener (tls_listener.h), so every exporter-toolkit setting maps
// onto OpenSSL directly: client_auth_type onto SSL_VERIFY_* modes (with a
// verify callback that accepts unverified certificates for
// RequireAnyClientCert and RequestClientCert, as Go does),
// min/max_version, cipher_suites and prefer_server_cipher_suites.
#pragma once

#include <openssl/ssl.h>

#include <memory>

#include "pgdr/core/status.h"
#include "pgdr/http/web_config.h"

namespace pgdr::http {

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtx = std::unique_ptr<SSL_CTX, SslCtxFree>;

// Loads the certificate, key and client CA and sets the verification,
// versions and ciphers; errors name the file. Building one is also how a
// web config is validated before it is applied.
core::Result<SslCtx> NewTlsContext(const TlsServerConfig& tls);

}  // namespace pgdr::http

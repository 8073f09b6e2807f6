// An OpenSSL SSL_CTX configured from a web config's tls_server_config in
// civetweb's init_ssl callback (civetweb creates the context, through the
// libssl it loads itself; its external_ssl_ctx path leaves that library
// unloaded in Debian's 1.15 and crashes), so every exporter-toolkit setting
// maps onto OpenSSL directly: client_auth_type onto SSL_VERIFY_* modes (with
// a verify callback that accepts unverified certificates for
// RequireAnyClientCert and RequestClientCert, as Go does), min/max_version,
// cipher_suites and prefer_server_cipher_suites.
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

// Loads the certificate, key and client CA into `ctx` and sets its
// verification, versions and ciphers; errors name the file.
core::Status ConfigureTls(SSL_CTX* ctx, const TlsServerConfig& tls);
// A context configured so, to validate a web config before it is applied.
core::Result<SslCtx> NewTlsContext(const TlsServerConfig& tls);

}  // namespace pgdr::http

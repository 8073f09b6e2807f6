// --web.config.file: TLS, client certificates, basic auth and response
// headers for the HTTP server, in Prometheus's exporter-toolkit format so
// the file an SRE already has for node_exporter works unchanged:
//
//   tls_server_config:
//     cert_file: server.crt          # relative paths: to the web config's folder
//     key_file: server.key
//     client_ca_file: ca.crt
//     client_auth_type: RequireAndVerifyClientCert
//     min_version: TLS12             # TLS10..TLS13; default TLS12
//     max_version: TLS13
//     cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
//     prefer_server_cipher_suites: true
//   http_server_config:
//     headers: {X-Frame-Options: deny}
//   basic_auth_users:
//     alice: $2y$10$...              # bcrypt
//
// Errors name file:line:col and the key. Parsing reads the certificate files
// only to check they exist; TlsContext loads them.
//
// Thread-safety: a WebConfig is a plain value.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pgdr/core/status.h"

namespace pgdr::http {

enum class ClientAuth {
  kNoClientCert,
  kRequestClientCert,
  kRequireAnyClientCert,
  kVerifyClientCertIfGiven,
  kRequireAndVerifyClientCert,
};

struct TlsServerConfig {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  // empty: none
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  // OpenSSL protocol versions (TLS1_2_VERSION ...); 0: no upper bound.
  int min_version = 0;
  int max_version = 0;
  // OpenSSL cipher names of the Go names given (TLS 1.2 and below); empty:
  // OpenSSL's defaults. TLS 1.3 suites are not configurable, as in Go.
  std::vector<std::string> cipher_suites;
  bool prefer_server_cipher_suites = true;

  bool operator==(const TlsServerConfig&) const = default;
};

struct WebConfig {
  std::optional<TlsServerConfig> tls;
  std::map<std::string, std::string> headers;
  std::map<std::string, std::string> users;  // user -> bcrypt hash

  bool operator==(const WebConfig&) const = default;
};

core::Result<WebConfig> LoadWebConfig(const std::string& path);
// `name` is used in errors; relative file paths are resolved against `dir`.
core::Result<WebConfig> ParseWebConfig(const std::string& text, const std::string& name,
                                       const std::string& dir);

}  // namespace pgdr::http

#include "pgdr/http/web_config.h"

#include <openssl/ssl.h>
#include <sys/stat.h>

#include <utility>

#include "pgdr/config/yaml_reader.h"
#include "pgdr/core/files.h"

namespace pgdr::http {
namespace {

constexpr std::pair<std::string_view, ClientAuth> kClientAuth[] = {
    {"NoClientCert", ClientAuth::kNoClientCert},
    {"RequestClientCert", ClientAuth::kRequestClientCert},
    {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
    {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
    {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert},
};

constexpr std::pair<std::string_view, int> kVersions[] = {
    {"TLS10", TLS1_VERSION},
    {"TLS11", TLS1_1_VERSION},
    {"TLS12", TLS1_2_VERSION},
    {"TLS13", TLS1_3_VERSION},
};

// Go's crypto/tls names (what exporter-toolkit accepts) to OpenSSL's.
constexpr std::pair<std::string_view, std::string_view> kCiphers[] = {
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"},
};

template <typename T, size_t N>
std::string Names(const std::pair<std::string_view, T> (&table)[N]) {
  std::string out;
  for (const auto& [name, value] : table) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

template <typename T, size_t N>
T Lookup(const config::YamlReader& r, const YAML::Node& node, std::string_view key,
         const std::pair<std::string_view, T> (&table)[N]) {
  const std::string text = r.AsString(node, key);
  for (const auto& [name, value] : table) {
    if (name == text) return value;
  }
  r.Fail(node, "invalid " + std::string(key) + " \"" + text + "\" (allowed: " + Names(table) + ")");
}

std::string Resolve(const std::string& dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || dir.empty()) return path;
  return dir + "/" + path;
}

// A file the TLS context will load; checked here so the error has a position.
std::string ExistingFile(const config::YamlReader& r, const YAML::Node& map, std::string_view key,
                         const std::string& dir) {
  const std::string path = Resolve(dir, r.AsString(map[std::string(key)], key));
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    r.Fail(map[std::string(key)], std::string(key) + ": cannot read \"" + path + "\"");
  }
  return path;
}

TlsServerConfig ParseTls(const config::YamlReader& r, const YAML::Node& n, const std::string& dir) {
  r.CheckKeys(n,
              {"cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version",
               "max_version", "cipher_suites", "prefer_server_cipher_suites", "curve_preferences"},
              "tls_server_config");
  TlsServerConfig tls;
  if (!n["cert_file"]) r.Fail(n, "missing cert_file in tls_server_config");
  if (!n["key_file"]) r.Fail(n, "missing key_file in tls_server_config");
  tls.cert_file = ExistingFile(r, n, "cert_file", dir);
  tls.key_file = ExistingFile(r, n, "key_file", dir);
  if (n["client_ca_file"]) tls.client_ca_file = ExistingFile(r, n, "client_ca_file", dir);
  if (n["client_auth_type"]) {
    tls.client_auth = Lookup(r, n["client_auth_type"], "client_auth_type", kClientAuth);
  }
  const bool verifies = tls.client_auth == ClientAuth::kVerifyClientCertIfGiven ||
                        tls.client_auth == ClientAuth::kRequireAndVerifyClientCert;
  if (verifies && tls.client_ca_file.empty()) {
    r.Fail(n["client_auth_type"], "client_auth_type needs client_ca_file");
  }
  if (!verifies && !tls.client_ca_file.empty()) {
    r.Fail(n["client_ca_file"],
           "client_ca_file is set but client_auth_type does not verify client certificates "
           "(VerifyClientCertIfGiven or RequireAndVerifyClientCert)");
  }
  tls.min_version = TLS1_2_VERSION;
  if (n["min_version"]) tls.min_version = Lookup(r, n["min_version"], "min_version", kVersions);
  if (n["max_version"]) tls.max_version = Lookup(r, n["max_version"], "max_version", kVersions);
  if (tls.max_version != 0 && tls.max_version < tls.min_version) {
    r.Fail(n["max_version"], "max_version is below min_version");
  }
  if (const YAML::Node suites = n["cipher_suites"]; suites && !suites.IsNull()) {
    r.ExpectSequence(suites, "cipher_suites");
    for (const auto& s : suites) {
      tls.cipher_suites.emplace_back(Lookup(r, s, "cipher_suites", kCiphers));
    }
  }
  tls.prefer_server_cipher_suites = r.BoolOr(n, "prefer_server_cipher_suites", true);
  if (const YAML::Node curves = n["curve_preferences"]; curves && !curves.IsNull()) {
    r.Fail(curves, "curve_preferences is not supported (OpenSSL's default groups are used)");
  }
  return tls;
}

bool LooksBcrypt(const std::string& hash) {
  return hash.size() == 60 &&
         (hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$"));
}

}  // namespace

core::Result<WebConfig> ParseWebConfig(const std::string& text, const std::string& name,
                                       const std::string& dir) {
  auto root = config::LoadYamlString(text, name);
  if (!root.ok()) return root.status();
  WebConfig out;
  const config::YamlReader r(name);
  core::Status s = config::GuardYaml(name, [&] {
    if (!*root || root->IsNull()) return;  // an empty file: plain HTTP, no auth
    r.CheckKeys(*root, {"tls_server_config", "http_server_config", "basic_auth_users"},
                "web config");
    if (const YAML::Node tls = (*root)["tls_server_config"]; tls && !tls.IsNull()) {
      out.tls = ParseTls(r, tls, dir);
    }
    if (const YAML::Node http = (*root)["http_server_config"]; http && !http.IsNull()) {
      r.CheckKeys(http, {"headers", "http2"}, "http_server_config");
      out.headers = r.StringMap(http, "headers");
      for (const auto& [header, value] : out.headers) {
        if (header.find_first_of(":\r\n ") != std::string::npos ||
            value.find_first_of("\r\n") != std::string::npos) {
          r.Fail(http["headers"], "invalid header \"" + header + "\"");
        }
      }
    }
    if (const YAML::Node users = (*root)["basic_auth_users"]; users && !users.IsNull()) {
      r.ExpectMap(users, "basic_auth_users");
      for (const auto& kv : users) {
        const std::string user = kv.first.Scalar();
        const std::string hash = r.AsString(kv.second, user);
        if (user.empty() || user.find(':') != std::string::npos) {
          r.Fail(kv.first, "invalid user name \"" + user + "\" in basic_auth_users");
        }
        // The hash itself is never echoed: it is a secret's stand-in.
        if (!LooksBcrypt(hash))
          r.Fail(kv.second, "basic_auth_users." + user + ": not a bcrypt hash");
        out.users[user] = hash;
      }
    }
  });
  if (!s.ok()) return s;
  return out;
}

core::Result<WebConfig> LoadWebConfig(const std::string& path) {
  auto text = core::ReadFile(path);
  if (!text.ok()) return text.status();
  const size_t slash = path.rfind('/');
  return ParseWebConfig(*text, path, slash == std::string::npos ? "." : path.substr(0, slash));
}

}  // namespace pgdr::http

#include "pgdr/http/web_config.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "pgdr/http/basic_auth.h"

namespace pgdr::http {
namespace {

// bcrypt (cost 4) of "secret", from Python's crypt module (libxcrypt).
constexpr const char* kHash = "$2b$04$nGE5TzYlNIlYZP/VZcgkhudXrqhsMbzUpyoj32pri42CHjzwiDBWe";

class WebConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("pgdr-webcfg-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + std::to_string(reinterpret_cast<uintptr_t>(this)));
    std::filesystem::create_directories(dir_);
    for (const char* f : {"s.crt", "s.key", "ca.crt"}) std::ofstream(dir_ / f) << "x";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  core::Result<WebConfig> Parse(const std::string& text) {
    return ParseWebConfig(text, "web.yml", dir_.string());
  }
  std::filesystem::path dir_;
};

TEST_F(WebConfigTest, ParsesEveryKey) {
  auto web = Parse(std::string(R"(tls_server_config:
  cert_file: s.crt
  key_file: s.key
  client_ca_file: ca.crt
  client_auth_type: VerifyClientCertIfGiven
  min_version: TLS13
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_256_GCM_SHA384]
  prefer_server_cipher_suites: false
http_server_config:
  headers: {X-Frame-Options: deny}
basic_auth_users:
  alice: )") + kHash +
                   "\n");
  ASSERT_TRUE(web.ok()) << web.status().message();
  ASSERT_TRUE(web->tls.has_value());
  EXPECT_EQ(web->tls->cert_file, (dir_ / "s.crt").string());
  EXPECT_EQ(web->tls->client_ca_file, (dir_ / "ca.crt").string());
  EXPECT_EQ(web->tls->client_auth, ClientAuth::kVerifyClientCertIfGiven);
  EXPECT_EQ(web->tls->min_version, TLS1_3_VERSION);
  EXPECT_EQ(web->tls->max_version, 0);
  EXPECT_EQ(web->tls->cipher_suites,
            (std::vector<std::string>{"ECDHE-RSA-AES128-GCM-SHA256", "AES256-GCM-SHA384"}));
  EXPECT_FALSE(web->tls->prefer_server_cipher_suites);
  EXPECT_EQ(web->headers.at("X-Frame-Options"), "deny");
  EXPECT_EQ(web->users.at("alice"), kHash);
}

TEST_F(WebConfigTest, EmptyFileIsPlainHttpWithoutAuth) {
  auto web = Parse("");
  ASSERT_TRUE(web.ok());
  EXPECT_EQ(*web, WebConfig{});
}

TEST_F(WebConfigTest, ErrorsNameFileLineAndKey) {
  const std::pair<std::string, std::string> cases[] = {
      {"tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n  client_auth: x\n",
       "web.yml:4:3: unknown key \"client_auth\" in tls_server_config"},
      {"tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n  min_version: TLS9\n",
       "web.yml:4:16: invalid min_version \"TLS9\""},
      {"tls_server_config:\n  cert_file: nope.crt\n  key_file: s.key\n",
       "web.yml:2:14: cert_file: cannot read"},
      {"tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\n"
       "  client_auth_type: RequireAndVerifyClientCert\n",
       "web.yml:4:21: client_auth_type needs client_ca_file"},
      {"basic_auth_users:\n  bob: plain\n", "web.yml:2:8: basic_auth_users.bob: not a bcrypt hash"},
      {"basic_auth: {}\n", "web.yml:1:1: unknown key \"basic_auth\" in web config"},
  };
  for (const auto& [text, want] : cases) {
    auto web = Parse(text);
    ASSERT_FALSE(web.ok()) << text;
    EXPECT_NE(web.status().message().find(want), std::string::npos)
        << web.status().message() << "\nwanted: " << want;
    EXPECT_EQ(web.status().message().find("plain"), std::string::npos) << "secret echoed";
  }
}

TEST(BasicAuthTest, VerifiesBcryptAndCaches) {
  EXPECT_TRUE(VerifyBcrypt("secret", kHash));
  EXPECT_FALSE(VerifyBcrypt("Secret", kHash));
  const BasicAuth auth(std::map<std::string, std::string>{{"alice", kHash}});
  EXPECT_TRUE(auth.Check("Basic YWxpY2U6c2VjcmV0"));   // alice:secret
  EXPECT_TRUE(auth.Check("basic YWxpY2U6c2VjcmV0"));   // the scheme is case-insensitive
  EXPECT_TRUE(auth.Check("Basic YWxpY2U6c2VjcmV0"));   // cached
  EXPECT_FALSE(auth.Check("Basic YWxpY2U6d3Jvbmc="));  // alice:wrong
  EXPECT_FALSE(auth.Check("Basic Ym9iOnNlY3JldA=="));  // bob:secret, unknown user
  EXPECT_FALSE(auth.Check("Bearer YWxpY2U6c2VjcmV0"));
  EXPECT_FALSE(auth.Check("Basic !!!!"));
}

}  // namespace
}  // namespace pgdr::http

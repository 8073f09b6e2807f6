#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

#include "pgdr/http/server.h"

namespace pgdr::http {
namespace {

std::string Get(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  std::string out;
  char buf[4096];
  ssize_t n = 0;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

TEST(HttpServerTest, RoutesExactPathsAndAnswers404) {
  HttpServer server;
  server.Route("/hello", [](const HttpRequest& r) {
    return HttpResponse{200, "text/plain", r.method + " " + QueryParam(r.query, "who")};
  });
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  ASSERT_GT(server.port(), 0);
  const std::string ok =
      Get(server.port(), "GET /hello?who=a%20b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(ok.find("200 OK"), std::string::npos);
  EXPECT_NE(ok.find("GET a b"), std::string::npos);
  const std::string missing =
      Get(server.port(), "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(missing.find("404"), std::string::npos);
  server.Stop();
}

// A HEAD answer has GET's headers and no body: on a kept-alive connection a
// body would be taken for the start of the next response.
TEST(HttpServerTest, HeadAnswersHeadersWithoutABody) {
  HttpServer server;
  server.Route("/x", [](const HttpRequest&) { return HttpResponse{200, "text/plain", "hello"}; });
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  const std::string head =
      Get(server.port(), "HEAD /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(head.find("Content-Length: 5\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("\r\n\r\n") + 4, head.size()) << head;
  // Pipelined HEAD then GET on one connection: two responses, one body.
  const std::string both = Get(server.port(),
                               "HEAD /x HTTP/1.1\r\nHost: x\r\n\r\n"
                               "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const size_t first_end = both.find("\r\n\r\n");
  ASSERT_NE(first_end, std::string::npos) << both;
  EXPECT_EQ(both.compare(first_end + 4, 12, "HTTP/1.1 200"), 0) << both;
  EXPECT_EQ(both.substr(both.size() - 5), "hello");
  EXPECT_EQ(both.find("hello"), both.size() - 5) << both;
  server.Stop();
}

TEST(HttpServerTest, ExactRouteWinsOverTheLongestPrefix) {
  HttpServer server;
  server.Route("/a/exact", [](const HttpRequest&) { return HttpResponse{200, "text/plain", "E"}; });
  server.RoutePrefix("/a/", [](const HttpRequest& r) {
    return HttpResponse{200, "text/plain", "P1:" + r.path};
  });
  server.RoutePrefix("/a/b/", [](const HttpRequest& r) {
    return HttpResponse{200, "text/plain", "P2:" + r.path};
  });
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  const auto body = [&](const std::string& path) {
    const std::string r =
        Get(server.port(), "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    return r.substr(r.find("\r\n\r\n") + 4);
  };
  EXPECT_EQ(body("/a/exact"), "E");
  EXPECT_EQ(body("/a/x"), "P1:/a/x");
  EXPECT_EQ(body("/a/b/c"), "P2:/a/b/c");
  EXPECT_NE(
      Get(server.port(), "GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").find("404"),
      std::string::npos);
  server.Stop();
}

TEST(HttpServerTest, QueryParamDecodes) {
  EXPECT_EQ(QueryParam("a=1&b=x+y&c=%3D", "b"), "x y");
  EXPECT_EQ(QueryParam("a=1&b=x+y&c=%3D", "c"), "=");
  EXPECT_EQ(QueryParam("a=1", "z"), "");
}

TEST(HttpServerTest, BasicAuthGuardsEveryPathAndHeadersAreAdded) {
  HttpServer server;
  server.Route("/metrics", [](const HttpRequest&) {
    return HttpResponse{200, "text/plain", "ok"};
  });
  WebConfig web;
  // bcrypt (cost 4) of "secret".
  web.users["alice"] = "$2b$04$nGE5TzYlNIlYZP/VZcgkhudXrqhsMbzUpyoj32pri42CHjzwiDBWe";
  web.headers["X-Frame-Options"] = "deny";
  ASSERT_TRUE(server.SetWebConfig(web).ok());
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  const std::string denied =
      Get(server.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(denied.starts_with("HTTP/1.1 401 Unauthorized\r\n")) << denied;
  EXPECT_NE(denied.find("WWW-Authenticate: Basic realm=\"pgdr\"\r\n"), std::string::npos);
  EXPECT_NE(denied.find("X-Frame-Options: deny\r\n"), std::string::npos);
  const std::string missing = Get(server.port(),
                                  "GET /nowhere HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "
                                  "YWxpY2U6d3Jvbmc=\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(missing.starts_with("HTTP/1.1 401")) << missing;  // before routing: no 404 leak
  const std::string ok = Get(server.port(),
                             "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "
                             "YWxpY2U6c2VjcmV0\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(ok.starts_with("HTTP/1.1 200 OK\r\n")) << ok;
  EXPECT_NE(ok.find("X-Frame-Options: deny\r\n"), std::string::npos);
  EXPECT_EQ(server.unauthorized(), 2);
  // Users change live: without users every request passes again.
  ASSERT_TRUE(server.SetWebConfig(WebConfig{}).ok());
  const std::string open =
      Get(server.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(open.starts_with("HTTP/1.1 200 OK\r\n")) << open;
  server.Stop();
}

TEST(HttpServerTest, InvalidTlsConfigIsRefusedAndTheRunningOneKept) {
  HttpServer server;
  WebConfig web;
  web.users["alice"] = "$2b$04$nGE5TzYlNIlYZP/VZcgkhudXrqhsMbzUpyoj32pri42CHjzwiDBWe";
  ASSERT_TRUE(server.SetWebConfig(web).ok());
  WebConfig tls;
  tls.tls = TlsServerConfig{};
  tls.tls->cert_file = "/nonexistent/server.crt";
  tls.tls->key_file = "/nonexistent/server.key";
  core::Status s = server.SetWebConfig(tls);
  EXPECT_EQ(s.code(), core::Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("/nonexistent/server.crt"), std::string::npos) << s.message();
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  const std::string denied =
      Get(server.port(), "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(denied.starts_with("HTTP/1.1 401")) << denied;  // alice's config still runs
  server.Stop();
}

// A self-signed certificate for 127.0.0.1, written as PEM files.
void WriteSelfSigned(const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  ASSERT_GT(X509_sign(x, key, EVP_sha256()), 0);
  FILE* f = fopen(cert_path.c_str(), "w");
  PEM_write_X509(f, x);
  fclose(f);
  f = fopen(key_path.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  fclose(f);
  X509_free(x);
  EVP_PKEY_free(key);
}

// One request over TLS (no certificate verification: the test checks the
// relay, not the PKI); the whole answer, or "" when the handshake fails.
std::string TlsGet(int port, const std::string& request) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) == 1 &&
        SSL_write(ssl, request.data(), static_cast<int>(request.size())) > 0) {
      char buf[4096];
      int n = 0;
      while ((n = SSL_read(ssl, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    }
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  close(fd);
  return out;
}

TEST(HttpServerTest, TlsIsTerminatedRelayedAndTurnedOffLive) {
  char dir[] = "/tmp/pgdr-tls-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string cert = std::string(dir) + "/server.crt";
  const std::string key = std::string(dir) + "/server.key";
  WriteSelfSigned(cert, key);
  HttpServer server;
  server.Route("/echo", [](const HttpRequest& r) {
    return HttpResponse{200, "text/plain", r.method + " " + r.body};
  });
  WebConfig web;
  web.tls = TlsServerConfig{};
  web.tls->cert_file = cert;
  web.tls->key_file = key;
  ASSERT_TRUE(server.SetWebConfig(web).ok());
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  const int port = server.port();
  // Two pipelined requests on one TLS connection, the first with a body.
  const std::string both = TlsGet(port,
                                  "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                                  "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(both.starts_with("HTTP/1.1 200 OK\r\n")) << both;
  EXPECT_NE(both.find("POST hello"), std::string::npos) << both;
  EXPECT_EQ(both.substr(both.size() - 4), "GET ") << both;
  // A head the relay will not forward is answered by the relay itself.
  const std::string chunked =
      TlsGet(port, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_TRUE(chunked.starts_with("HTTP/1.1 501 Not Implemented\r\n")) << chunked;
  // Plain HTTP on the TLS port: the handshake fails and is counted.
  EXPECT_EQ(Get(port, "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").find("200"),
            std::string::npos);
  EXPECT_EQ(server.tls_handshake_failures(), 1);
  // TLS off: the same port answers plain HTTP.
  ASSERT_TRUE(server.SetWebConfig(WebConfig{}).ok());
  EXPECT_EQ(server.port(), port);
  const std::string plain = Get(port, "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(plain.starts_with("HTTP/1.1 200 OK\r\n")) << plain;
  EXPECT_EQ(server.relay_forbidden(), 0);
  server.Stop();
  unlink(cert.c_str());
  unlink(key.c_str());
  rmdir(dir);
}

// Clients that finish the handshake and then send nothing hold no civetweb
// worker (the relay connects upstream only for a complete head): with more
// of them than workers, a real request is still answered at once.
TEST(HttpServerTest, IdleTlsClientsHoldNoHttpWorker) {
  char dir[] = "/tmp/pgdr-tls-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string cert = std::string(dir) + "/server.crt";
  const std::string key = std::string(dir) + "/server.key";
  WriteSelfSigned(cert, key);
  HttpServer server;
  server.Route("/x", [](const HttpRequest&) { return HttpResponse{200, "text/plain", "x"}; });
  WebConfig web;
  web.tls = TlsServerConfig{};
  web.tls->cert_file = cert;
  web.tls->key_file = key;
  ASSERT_TRUE(server.SetWebConfig(web).ok());
  constexpr int kWorkers = 2;
  ASSERT_TRUE(server.Start("127.0.0.1:0", kWorkers).ok());
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  std::vector<std::pair<SSL*, int>> idle;
  for (int i = 0; i < kWorkers + 2; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(server.port()));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    ASSERT_EQ(SSL_connect(ssl), 1);
    idle.emplace_back(ssl, fd);
  }
  const auto start = std::chrono::steady_clock::now();
  const std::string ok =
      TlsGet(server.port(), "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(ok.starts_with("HTTP/1.1 200 OK\r\n")) << ok;
  EXPECT_LT(seconds, 5.0);
  for (auto& [ssl, fd] : idle) {
    SSL_free(ssl);
    close(fd);
  }
  SSL_CTX_free(ctx);
  server.Stop();
  unlink(cert.c_str());
  unlink(key.c_str());
  rmdir(dir);
}

TEST(HttpServerTest, TlsConnectionsOverTheLimitAreClosedAndCounted) {
  char dir[] = "/tmp/pgdr-tls-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string cert = std::string(dir) + "/server.crt";
  const std::string key = std::string(dir) + "/server.key";
  WriteSelfSigned(cert, key);
  HttpServer server;
  WebConfig web;
  web.tls = TlsServerConfig{};
  web.tls->cert_file = cert;
  web.tls->key_file = key;
  ASSERT_TRUE(server.SetWebConfig(web).ok());
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  std::vector<std::pair<SSL*, int>> open;
  int refused = 0;
  for (int i = 0; i < 66; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(server.port()));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) ++refused;
    open.emplace_back(ssl, fd);
  }
  EXPECT_EQ(refused, 2);  // 64 handshakes held open, then two closed at once
  EXPECT_EQ(server.tls_connections_rejected(), 2);
  for (auto& [ssl, fd] : open) {
    SSL_free(ssl);
    close(fd);
  }
  SSL_CTX_free(ctx);
  server.Stop();
  unlink(cert.c_str());
  unlink(key.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace pgdr::http

// pgdr::http::Client against a real server on 127.0.0.1: the repo's own
// HttpServer (civetweb) on a free port.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "pgdr/http/client.h"
#include "pgdr/http/server.h"

namespace pgdr::http {
namespace {

using std::chrono::milliseconds;

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Route("/echo", [](const HttpRequest& r) {
      return HttpResponse{200, "application/json", r.method + " " + r.query + " " + r.body};
    });
    server_.Route("/missing", [](const HttpRequest&) {
      return HttpResponse{404, "text/plain", "no such thing"};
    });
    server_.Route("/big", [](const HttpRequest&) {
      return HttpResponse{200, "text/plain", std::string(10000, 'x')};
    });
    // Answers only once released (at most 10 s): a server that hangs.
    server_.Route("/hang", [this](const HttpRequest&) {
      std::unique_lock lock(mu_);
      released_cv_.wait_for(lock, std::chrono::seconds(10), [this] { return released_; });
      return HttpResponse{200, "text/plain", "late"};
    });
    ASSERT_TRUE(server_.Start("127.0.0.1:0").ok());
    base_ = "http://127.0.0.1:" + std::to_string(server_.port());
  }
  void TearDown() override {
    Release();
    server_.Stop();
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      released_ = true;
    }
    released_cv_.notify_all();
  }

  HttpServer server_;
  std::string base_;
  std::mutex mu_;
  std::condition_variable released_cv_;
  bool released_ = false;
};

TEST_F(HttpClientTest, GetAndPostReturnStatusHeadersAndBody) {
  Client client;
  ClientRequest get;
  get.url = base_ + "/echo?who=me";
  auto r = client.Send(get);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "GET who=me ");
  EXPECT_FALSE(r->truncated);
  bool content_type = false;
  for (const auto& [name, value] : r->headers) {
    if (name == "content-type") content_type = value == "application/json";
  }
  EXPECT_TRUE(content_type) << "header names are lower-cased, values trimmed";

  // The same client (one curl handle, reused) for a POST and a PUT.
  ClientRequest post;
  post.method = "POST";
  post.url = base_ + "/echo";
  post.headers = {"Content-Type: application/json"};
  post.body = R"({"a":1})";
  r = client.Send(post);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"(POST  {"a":1})");
  post.method = "PUT";
  r = client.Send(post);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->body, R"(PUT  {"a":1})");
}

TEST_F(HttpClientTest, HttpErrorStatusIsAResponseNotAnError) {
  Client client;
  ClientRequest req;
  req.url = base_ + "/missing";
  auto r = client.Send(req);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "no such thing");
}

TEST_F(HttpClientTest, BodyOverTheCapIsCutAndFlagged) {
  Client client;
  ClientRequest req;
  req.url = base_ + "/big";
  req.max_body = 1000;
  auto r = client.Send(req);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->truncated);
  EXPECT_LE(r->body.size(), 1000u);
  req.max_body = 10000;
  r = client.Send(req);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->truncated);
  EXPECT_EQ(r->body.size(), 10000u);
}

TEST_F(HttpClientTest, HungServerTimesOutAsATimeoutStatus) {
  Client client;
  ClientRequest req;
  req.url = base_ + "/hang?sig=secret";
  req.timeout = milliseconds(300);
  const auto started = std::chrono::steady_clock::now();
  auto r = client.Send(req);
  const auto took = std::chrono::steady_clock::now() - started;
  Release();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), core::Status::Code::kTimeout);
  EXPECT_GE(took, milliseconds(250));
  EXPECT_LT(took, milliseconds(5000)) << "the timeout bounds the request";
  EXPECT_EQ(r.status().message(), "GET " + base_ + "/hang: timed out after 300ms");
}

TEST_F(HttpClientTest, TlsAndConnectionErrorsAreStatusesNamingTheRequest) {
  Client client;
  ClientRequest req;
  // TLS spoken to a plain-HTTP server: the handshake fails.
  req.url = "https://127.0.0.1:" + std::to_string(server_.port()) + "/echo?token=secret";
  req.timeout = milliseconds(3000);
  auto r = client.Send(req);
  ASSERT_FALSE(r.ok());
  // The handshake error, or the timeout should the server wait for more.
  EXPECT_TRUE(r.status().code() == core::Status::Code::kIOError ||
              r.status().code() == core::Status::Code::kTimeout)
      << r.status().ToString();
  const std::string& tls = r.status().message();
  EXPECT_TRUE(
      tls.starts_with("GET https://127.0.0.1:" + std::to_string(server_.port()) + "/echo: "))
      << tls;
  EXPECT_EQ(tls.find("secret"), std::string::npos) << "the query is redacted: " << tls;

  // A CA file that does not exist is refused, never silently ignored.
  req.tls.ca_file = "/nonexistent/ca.pem";
  r = client.Send(req);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/echo: "), std::string::npos) << r.status().message();

  // Nobody listening: the port of a server that has stopped.
  const int port = server_.port();
  Release();
  server_.Stop();
  ClientRequest refused;
  refused.url = "http://127.0.0.1:" + std::to_string(port) + "/echo";
  r = client.Send(refused);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), core::Status::Code::kIOError);
  EXPECT_TRUE(r.status().message().starts_with("GET " + refused.url + ": "))
      << r.status().message();
}

TEST(RedactUrlTest, DropsQueryFragmentAndCredentials) {
  EXPECT_EQ(RedactUrl("https://u:p@host:1/a/b?sig=x#f"), "https://host:1/a/b");
  EXPECT_EQ(RedactUrl("http://host/a@b"), "http://host/a@b");
  EXPECT_EQ(RedactUrl("http://host/path"), "http://host/path");
}

}  // namespace
}  // namespace pgdr::http

#include "http/request_rewriter.h"

#include <gtest/gtest.h>

#include <ostream>

namespace pgdr::http {
namespace {

constexpr size_t kMaxBody = 100;

RequestRewriter Make() {
  return RequestRewriter("X-Token: t\r\n", {"X-Token", "X-Client"}, kMaxBody);
}

TEST(RequestRewriterTest, InjectsAfterTheRequestLineAndStripsForgedHeaders) {
  RequestRewriter r = Make();
  std::string out;
  ASSERT_TRUE(
      r.Feed("GET /metrics HTTP/1.1\r\nHost: x\r\nx-token: forged\r\n"
             "X-CLIENT: 6.6.6.6:1\r\nAccept: */*\r\n\r\n",
             out));
  EXPECT_EQ(out, "GET /metrics HTTP/1.1\r\nX-Token: t\r\nHost: x\r\nAccept: */*\r\n\r\n");
  EXPECT_FALSE(r.in_head());
}

TEST(RequestRewriterTest, BodiesPassUnchangedAndPipelinedHeadsAreEachRewritten) {
  RequestRewriter r = Make();
  std::string out;
  // Byte by byte: boundaries fall anywhere.
  const std::string in =
      "POST /a HTTP/1.1\r\nContent-Length: 20\r\n\r\nGET / HTTP/1.1\r\n\r\nxx"
      "\r\nGET /b HTTP/1.1\r\nX-Token: forged\r\n\r\n";
  for (char c : in) ASSERT_TRUE(r.Feed(std::string_view(&c, 1), out));
  EXPECT_EQ(out,
            "POST /a HTTP/1.1\r\nX-Token: t\r\nContent-Length: 20\r\n\r\n"
            "GET / HTTP/1.1\r\n\r\nxx"  // the body, a head only in appearance
            "GET /b HTTP/1.1\r\nX-Token: t\r\n\r\n");
}

TEST(RequestRewriterTest, HeadInProgressIsReported) {
  RequestRewriter r = Make();
  std::string out;
  ASSERT_TRUE(r.Feed("GET / HTTP/1.1\r\nHo", out));
  EXPECT_TRUE(r.in_head());
  EXPECT_EQ(out, "");
  ASSERT_TRUE(r.Feed("st: x\r\n\r\n", out));
  EXPECT_FALSE(r.in_head());
  EXPECT_EQ(out, "GET / HTTP/1.1\r\nX-Token: t\r\nHost: x\r\n\r\n");
}

struct Refusal {
  const char* name;
  const char* input;
  int status;
};

void PrintTo(const Refusal& r, std::ostream* os) { *os << r.name; }

class RequestRewriterRefusalTest : public testing::TestWithParam<Refusal> {};

TEST_P(RequestRewriterRefusalTest, AmbiguousHeadsAreRefusedNotForwarded) {
  RequestRewriter r = Make();
  std::string out;
  EXPECT_FALSE(r.Feed(GetParam().input, out));
  EXPECT_EQ(r.error_status(), GetParam().status) << r.error_reason();
  EXPECT_EQ(out, "");
  EXPECT_FALSE(r.Feed("GET / HTTP/1.1\r\n\r\n", out));  // nothing more is read
  EXPECT_EQ(out, "");
}

INSTANTIATE_TEST_SUITE_P(
    Heads, RequestRewriterRefusalTest,
    testing::Values(
        Refusal{"BareLf", "GET / HTTP/1.1\nHost: x\r\n\r\n", 400},
        Refusal{"BareCr", "GET / HTTP/1.1\r\nHost: x\ry\r\n\r\n", 400},
        Refusal{"ControlCharacter", "GET / HTTP/1.1\r\nHost: \x01\r\n\r\n", 400},
        Refusal{"FoldedLine", "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400},
        Refusal{"SpaceBeforeColon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
        Refusal{"EmptyName", "GET / HTTP/1.1\r\n: x\r\n\r\n", 400},
        Refusal{"TwoContentLengths",
                "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400},
        Refusal{"SignedContentLength", "GET / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", 400},
        Refusal{"BodyTooLarge", "GET / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 413},
        Refusal{"Chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
        Refusal{"LeadingSpace", " GET / HTTP/1.1\r\n\r\n", 400}, Refusal{"LoneLf", "\n", 400}),
    [](const testing::TestParamInfo<Refusal>& info) { return std::string(info.param.name); });

TEST(RequestRewriterTest, OversizedHeadIsRefused) {
  RequestRewriter r = Make();
  std::string out;
  EXPECT_FALSE(
      r.Feed("GET / HTTP/1.1\r\nX-Big: " + std::string(RequestRewriter::kMaxHeadBytes, 'a'), out));
  EXPECT_EQ(r.error_status(), 431);
  EXPECT_EQ(out, "");
}

TEST(RequestRewriterTest, EmptyLinesBeforeARequestAreSkipped) {
  RequestRewriter r = Make();
  std::string out;
  ASSERT_TRUE(r.Feed("\r\n\r\nGET / HTTP/1.1\r\n\r\n", out));
  EXPECT_EQ(out, "GET / HTTP/1.1\r\nX-Token: t\r\n\r\n");
}

}  // namespace
}  // namespace pgdr::http

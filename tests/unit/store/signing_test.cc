#include "store/signing.h"

#include <gtest/gtest.h>

namespace pgdr::store {
namespace {

// The "GET Object" example of the S3 SigV4 documentation
// (sig-v4-header-based-auth.html): a ranged GET of /test.txt.
TEST(SigV4Test, AwsS3GetObjectExample) {
  SigV4Request request;
  request.canonical_uri = "/test.txt";
  request.payload_sha256 = Sha256Hex("");
  request.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                     {"Range", "bytes=0-9"},
                     {"x-amz-content-sha256", request.payload_sha256},
                     {"x-amz-date", "20130524T000000Z"}};
  AwsCredentials credentials{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                             ""};
  EXPECT_EQ(SigV4Authorization(request, credentials, "us-east-1", "s3", "20130524T000000Z"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

// aws-sig-v4-test-suite, case get-vanilla.
TEST(SigV4Test, TestSuiteGetVanilla) {
  SigV4Request request;
  request.canonical_uri = "/";
  request.payload_sha256 = Sha256Hex("");
  request.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
  AwsCredentials credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  EXPECT_EQ(SigV4Authorization(request, credentials, "us-east-1", "service", "20150830T123600Z"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4Test, CanonicalQuerySortsAndEncodes) {
  EXPECT_EQ(CanonicalQuery({{"prefix", "a b/c"}, {"list-type", "2"}, {"start-after", "x~y"}}),
            "list-type=2&prefix=a%20b%2Fc&start-after=x~y");
}

TEST(SigningTest, Base64RoundTrip) {
  EXPECT_EQ(Base64Encode("hello"), "aGVsbG8=");
  EXPECT_EQ(Base64Decode("aGVsbG8="), "hello");
  EXPECT_EQ(Base64Decode("aGk="), "hi");
  EXPECT_EQ(Base64Decode("bad"), "");
}

TEST(SigningTest, HmacSha256Rfc4231Case2) {
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// The Azure SharedKey string-to-sign is checked end to end against azurite
// (tests/integration/test_backup_barman_cloud.py); here its shape.
TEST(AzureSharedKeyTest, HeaderShape) {
  AzureSharedKeyRequest request;
  request.path = "/devstoreaccount1/c";
  request.query = {{"restype", "container"}, {"comp", "list"}};
  request.headers = {{"x-ms-date", "Mon, 23 Nov 2026 19:00:00 GMT"},
                     {"x-ms-version", "2021-08-06"}};
  std::string key = Base64Encode("0123456789abcdef0123456789abcdef");
  std::string auth = AzureSharedKeyAuthorization(request, "devstoreaccount1", key);
  EXPECT_TRUE(auth.starts_with("SharedKey devstoreaccount1:")) << auth;
  EXPECT_EQ(auth.size(), std::string("SharedKey devstoreaccount1:").size() + 44);
  request.query.emplace_back("prefix", "x");
  EXPECT_NE(auth, AzureSharedKeyAuthorization(request, "devstoreaccount1", key));
}

}  // namespace
}  // namespace pgdr::store

namespace pgdr::store {
namespace {

TEST(AwsCredentialsFileTest, PicksTheProfile) {
  constexpr std::string_view kFile =
      "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n\n"
      "# comment\n[prod]\r\naws_access_key_id=AKIDPROD\r\naws_secret_access_key=s2\r\n"
      "aws_session_token = tok\r\n";
  auto d = ParseAwsCredentialsFile(kFile, "default");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->access_key_id, "AKIDDEFAULT");
  EXPECT_EQ(d->session_token, "");
  auto p = ParseAwsCredentialsFile(kFile, "prod");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->secret_access_key, "s2");
  EXPECT_EQ(p->session_token, "tok");
  EXPECT_FALSE(ParseAwsCredentialsFile(kFile, "missing").has_value());
  EXPECT_FALSE(ParseAwsCredentialsFile("[default]\naws_access_key_id=x\n", "default").has_value());
}

}  // namespace
}  // namespace pgdr::store

#include "store/listing_xml.h"

#include <gtest/gtest.h>

namespace pgdr::store {
namespace {

constexpr std::string_view kS3Page = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>
  <IsTruncated>true</IsTruncated><NextContinuationToken>tok1</NextContinuationToken>
  <Contents><Key>p/a</Key><LastModified>2026-11-23T19:00:00.000Z</LastModified><Size>10</Size></Contents>
  <Contents><Key>p/b</Key><LastModified>2026-11-23T19:00:01.500Z</LastModified><Size>20</Size></Contents>
  <CommonPrefixes><Prefix>p/dir/</Prefix></CommonPrefixes>
</ListBucketResult>)";

TEST(ListingXmlTest, S3Page) {
  core::Result<ListPage> page = ParseS3ListObjectsV2(kS3Page);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->entries.size(), 3u);
  EXPECT_EQ(page->entries[0].key, "p/a");
  EXPECT_EQ(page->entries[1].size, 20u);
  EXPECT_DOUBLE_EQ(page->entries[1].mtime_seconds, 1795460401.5);
  EXPECT_TRUE(page->entries[2].is_prefix);
  EXPECT_EQ(page->next_token, "tok1");
}

TEST(ListingXmlTest, TruncatedXmlIsAClearError) {
  std::string_view half = kS3Page.substr(0, kS3Page.size() / 2);
  core::Result<ListPage> page = ParseS3ListObjectsV2(half);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.status().code(), core::Status::Code::kCorruption);
  EXPECT_NE(page.status().message().find("malformed listing"), std::string::npos);
}

TEST(ListingXmlTest, WrongDocumentAndBadFields) {
  EXPECT_FALSE(ParseS3ListObjectsV2("<Other/>").ok());
  EXPECT_FALSE(ParseS3ListObjectsV2("not xml at all").ok());
  EXPECT_FALSE(ParseS3ListObjectsV2("<ListBucketResult><Contents><Key>k</Key><Size>x</Size>"
                                    "<LastModified>2026-11-23T19:00:00Z</LastModified></Contents>"
                                    "</ListBucketResult>")
                   .ok());
  EXPECT_FALSE(ParseS3ListObjectsV2("<ListBucketResult><IsTruncated>true</IsTruncated>"
                                    "</ListBucketResult>")
                   .ok());
}

TEST(ListingXmlTest, AzurePage) {
  constexpr std::string_view kXml = R"(<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="http://127.0.0.1:10000/devstoreaccount1" ContainerName="c">
  <Prefix>p/</Prefix><MaxResults>5000</MaxResults>
  <Blobs>
    <Blob><Name>p/a</Name><Properties><Last-Modified>Mon, 23 Nov 2026 19:00:00 GMT</Last-Modified>
      <Content-Length>7</Content-Length></Properties></Blob>
    <BlobPrefix><Name>p/d/</Name></BlobPrefix>
  </Blobs>
  <NextMarker>m2</NextMarker>
</EnumerationResults>)";
  core::Result<ListPage> page = ParseAzureListBlobs(kXml);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->entries.size(), 2u);
  EXPECT_EQ(page->entries[0].size, 7u);
  EXPECT_DOUBLE_EQ(page->entries[0].mtime_seconds, 1795460400);
  EXPECT_TRUE(page->entries[1].is_prefix);
  EXPECT_EQ(page->next_token, "m2");
  EXPECT_FALSE(ParseAzureListBlobs("<EnumerationResults><Blobs><Blob><Name>x</Name></Blob>").ok());
}

TEST(ListingXmlTest, ErrorBody) {
  EXPECT_EQ(ParseErrorBody("<Error><Code>AccessDenied</Code><Message>no</Message></Error>"),
            "AccessDenied: no");
  EXPECT_EQ(ParseErrorBody("garbage"), "");
}

TEST(TimeTest, Formats) {
  EXPECT_EQ(ParseIso8601("2026-11-23T19:00:00Z"), 1795460400.0);
  EXPECT_EQ(ParseIso8601("2026-11-23 20:00:00.250000+01:00"), 1795460400.25);
  EXPECT_FALSE(ParseIso8601("2026-11-23").has_value());
  EXPECT_EQ(ParseRfc1123("Mon, 23 Nov 2026 19:00:00 GMT"), 1795460400.0);
  EXPECT_FALSE(ParseRfc1123("Mon, 23 Foo 2026 19:00:00 GMT").has_value());
}

}  // namespace
}  // namespace pgdr::store

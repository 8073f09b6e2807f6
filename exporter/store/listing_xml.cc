#include "store/listing_xml.h"

#include <charconv>
#include <pugixml.hpp>

namespace pgdr::store {
namespace {

core::Status ParseDocument(std::string_view xml, pugi::xml_document& doc) {
  pugi::xml_parse_result parsed = doc.load_buffer(xml.data(), xml.size());
  if (!parsed) {
    return core::Status::Corruption(std::string(kErrMalformedListing) + ": " +
                                    parsed.description() + " at offset " +
                                    std::to_string(parsed.offset));
  }
  return core::Status::OK();
}

bool ParseSize(const char* text, uint64_t& out) {
  std::string_view s(text);
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

core::Result<ListPage> ParseS3ListObjectsV2(std::string_view xml) {
  pugi::xml_document doc;
  if (core::Status s = ParseDocument(xml, doc); !s.ok()) return s;
  pugi::xml_node root = doc.child("ListBucketResult");
  if (!root)
    return core::Status::Corruption(std::string(kErrMalformedListing) + ": no ListBucketResult");
  ListPage page;
  for (pugi::xml_node c : root.children("Contents")) {
    ObjectInfo info;
    info.key = c.child_value("Key");
    if (info.key.empty()) {
      return core::Status::Corruption(std::string(kErrMalformedListing) + ": Contents without Key");
    }
    if (!ParseSize(c.child_value("Size"), info.size)) {
      return core::Status::Corruption(std::string(kErrMalformedListing) + ": bad Size for " +
                                      info.key);
    }
    std::optional<double> mtime = ParseIso8601(c.child_value("LastModified"));
    if (!mtime) {
      return core::Status::Corruption(std::string(kErrMalformedListing) +
                                      ": bad LastModified for " + info.key);
    }
    info.mtime_seconds = *mtime;
    page.entries.push_back(std::move(info));
  }
  for (pugi::xml_node p : root.children("CommonPrefixes")) {
    page.entries.push_back(ObjectInfo{p.child_value("Prefix"), 0, 0, true});
  }
  if (std::string_view(root.child_value("IsTruncated")) == "true") {
    page.next_token = root.child_value("NextContinuationToken");
    if (page.next_token.empty()) {
      return core::Status::Corruption(std::string(kErrMalformedListing) +
                                      ": truncated without NextContinuationToken");
    }
  }
  return page;
}

core::Result<ListPage> ParseAzureListBlobs(std::string_view xml) {
  pugi::xml_document doc;
  if (core::Status s = ParseDocument(xml, doc); !s.ok()) return s;
  pugi::xml_node root = doc.child("EnumerationResults");
  if (!root)
    return core::Status::Corruption(std::string(kErrMalformedListing) + ": no EnumerationResults");
  ListPage page;
  for (pugi::xml_node b : root.child("Blobs").children()) {
    std::string_view kind = b.name();
    if (kind == "BlobPrefix") {
      page.entries.push_back(ObjectInfo{b.child_value("Name"), 0, 0, true});
      continue;
    }
    if (kind != "Blob") continue;
    ObjectInfo info;
    info.key = b.child_value("Name");
    pugi::xml_node props = b.child("Properties");
    if (info.key.empty() || !props) {
      return core::Status::Corruption(std::string(kErrMalformedListing) +
                                      ": Blob without Name/Properties");
    }
    if (!ParseSize(props.child_value("Content-Length"), info.size)) {
      return core::Status::Corruption(std::string(kErrMalformedListing) +
                                      ": bad Content-Length for " + info.key);
    }
    std::optional<double> mtime = ParseRfc1123(props.child_value("Last-Modified"));
    if (!mtime) {
      return core::Status::Corruption(std::string(kErrMalformedListing) +
                                      ": bad Last-Modified for " + info.key);
    }
    info.mtime_seconds = *mtime;
    page.entries.push_back(std::move(info));
  }
  page.next_token = root.child_value("NextMarker");
  return page;
}

std::string ParseErrorBody(std::string_view xml) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size())) return "";
  pugi::xml_node error = doc.child("Error");
  if (!error) return "";
  std::string out = error.child_value("Code");
  std::string message = error.child_value("Message");
  if (!message.empty()) {
    // Azure appends "RequestId:...\nTime:..." lines; keep the first line.
    message = message.substr(0, message.find('\n'));
    out += ": " + message;
  }
  return out;
}

}  // namespace pgdr::store

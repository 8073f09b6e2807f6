// Parsers of the XML listings S3 (ListObjectsV2) and Azure (List Blobs)
// return, and of their error bodies.
//
// Why separate from the drivers: malformed or truncated XML must give a clear
// error, and that is tested without a server.
// Thread-safety: stateless.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pgdr/core/status.h"
#include "pgdr/store/object_store.h"

namespace pgdr::store {

struct ListPage {
  std::vector<ObjectInfo> entries;  // objects then common prefixes, as in the document
  std::string next_token;           // empty when this is the last page
};

// Keys in the result are returned whole (the caller strips its root prefix).
core::Result<ListPage> ParseS3ListObjectsV2(std::string_view xml);
core::Result<ListPage> ParseAzureListBlobs(std::string_view xml);
// "<Code>: <Message>" of an S3 or Azure error document, or "" if none.
std::string ParseErrorBody(std::string_view xml);

}  // namespace pgdr::store

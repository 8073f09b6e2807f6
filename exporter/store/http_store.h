// What every HTTP object-store driver shares (S3 and its flavours, Azure):
// paging through a listing with its guards (max_objects, a marker that must
// advance), reading an object, and one request recorded in the store's
// stats with the common error wording. A driver says only how to ask for a
// listing page, how to read one, and how to address and sign a request —
// as pgBackRest's drivers sit under one storage layer.
#pragma once

#include <string>
#include <string_view>

#include "pgdr/store/object_store.h"
#include "store/http_errors.h"
#include "store/listing_xml.h"
#include "store/signing.h"

namespace pgdr::store {

class HttpObjectStore : public ObjectStore {
 public:
  core::Status List(const ListOptions& options, const ListVisitor& visit) final;
  core::Result<std::string> Read(std::string_view key, size_t max_bytes) final;
  const std::string& description() const final { return description_; }

 protected:
  // How a driver's listings page: the name of its continuation marker (in
  // errors) and the largest page body it accepts.
  struct Paging {
    std::string_view marker_name;
    size_t max_page_bytes;
  };

  // `root` is the key prefix inside the container ("" or "a/b/"),
  // `container` the bucket or container (errors name "list <container>").
  HttpObjectStore(StoreOptions options, std::string container, std::string root,
                  std::string description, Paging paging);

  // The query of the listing page after `marker` ("" for the first).
  virtual HeaderList PageQuery(const ListOptions& options, const std::string& marker) const = 0;
  virtual core::Result<ListPage> ParsePage(std::string_view body) const = 0;
  // One addressed and signed GET of `key` (the container when empty);
  // transport failures already worded by TransportError.
  virtual core::Result<HttpResponse> SendOnce(const std::string& key, const HeaderList& query,
                                              size_t max_body) = 0;

  // What errors name for a request of `key`: the key, or the listing.
  std::string What(const std::string& key) const;

  const StoreOptions options_;
  const std::string container_, root_, description_;
  http::Client http_;

 private:
  // SendOnce, checked by CheckHttpResponse and recorded in stats_.
  core::Result<HttpResponse> Send(std::string_view operation, const std::string& key,
                                  const HeaderList& query, size_t max_body);

  const Paging paging_;
};

}  // namespace pgdr::store

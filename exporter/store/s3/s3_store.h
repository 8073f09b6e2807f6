// The S3 driver, shared by gcs/ (GCS's S3-compatible XML API with HMAC keys).
// Private to exporter/store.
#pragma once

#include <memory>
#include <string>

#include "pgdr/store/object_store.h"

namespace pgdr::store {

struct S3Flavor {
  std::string scheme;            // "s3" or "gs", for the description
  std::string default_endpoint;  // used when options.endpoint is empty; "" = AWS by region
  std::string region;            // overrides options.region when set ("auto" for GCS)
};

core::Result<std::unique_ptr<ObjectStore>> MakeS3CompatibleStore(const StoreOptions& options,
                                                                 const S3Flavor& flavor);

}  // namespace pgdr::store

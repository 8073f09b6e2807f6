// GCS through its S3-compatible XML API (storage.googleapis.com) with HMAC
// keys: the S3 driver signing with region "auto".
#include "pgdr/store/object_store.h"
#include "store/s3/s3_store.h"

namespace pgdr::store {

core::Result<std::unique_ptr<ObjectStore>> MakeGcsStore(const StoreOptions& options) {
  return MakeS3CompatibleStore(options, S3Flavor{"gs", "https://storage.googleapis.com", "auto"});
}

}  // namespace pgdr::store

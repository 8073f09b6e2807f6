// S3 ListObjectsV2 pages and S3 error bodies.
#include "fuzz_input.h"
#include "store/listing_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view xml = pgdr::fuzz::AsText(data, size);
  (void)pgdr::store::ParseS3ListObjectsV2(xml);
  (void)pgdr::store::ParseErrorBody(xml);
  return 0;
}

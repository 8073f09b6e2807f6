// Azure List Blobs pages.
#include "fuzz_input.h"
#include "store/listing_xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)pgdr::store::ParseAzureListBlobs(pgdr::fuzz::AsText(data, size));
  return 0;
}

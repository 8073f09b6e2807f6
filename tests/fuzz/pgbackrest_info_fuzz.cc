// pgBackRest's backup/<stanza>/backup.info read from the object store.
#include "fuzz_input.h"
#include "store/layout.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)pgdr::store::ParsePgBackRestInfo(pgdr::fuzz::AsText(data, size),
                                         pgdr::store::kDefaultWalSegmentSize);
  return 0;
}

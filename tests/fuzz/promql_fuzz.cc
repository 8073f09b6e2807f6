// PromQL expressions and promtool series descriptions ("a{b="c"} 1+1x10").
#include "fuzz_input.h"
#include "pgdr/promql/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = pgdr::fuzz::AsText(data, size);
  (void)pgdr::promql::ParseExpr(text);
  (void)pgdr::promql::ParseSeriesDescription(text);
  return 0;
}

// Client bytes as the TLS relay reads them (RequestRewriter). Besides not
// crashing, two properties are checked, either of which failing would let
// a client smuggle a head past the relay's rewriting:
// - the output does not depend on how the input is split into reads (the
//   first byte picks the split point);
// - the output is canonical: rewriting it again (the injected header is
//   also one the rewriter strips) gives the same bytes.
#include <cstdlib>

#include "fuzz_input.h"
#include "http/request_rewriter.h"

namespace {

constexpr size_t kMaxBody = 4096;

pgdr::http::RequestRewriter Make() {
  return pgdr::http::RequestRewriter("X-Pgdr-Relay-Token: t\r\n",
                                     {"X-Pgdr-Relay-Token", "X-Pgdr-Client"}, kMaxBody);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text = pgdr::fuzz::AsText(data + 1, size - 1);
  std::string whole;
  pgdr::http::RequestRewriter a = Make();
  const bool ok = a.Feed(text, whole);

  const size_t split = text.empty() ? 0 : data[0] % (text.size() + 1);
  std::string parts;
  pgdr::http::RequestRewriter b = Make();
  const bool ok_parts = b.Feed(text.substr(0, split), parts) && b.Feed(text.substr(split), parts);
  if (ok != ok_parts || whole != parts || a.error_status() != b.error_status()) std::abort();

  std::string again;
  pgdr::http::RequestRewriter c = Make();
  if (!c.Feed(whole, again) || again != whole) std::abort();
  return 0;
}

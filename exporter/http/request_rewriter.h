// The request side of the TLS relay (tls_listener.h): it finds where each
// HTTP/1.1 request of a client's decrypted byte stream begins and ends, and
// rewrites every request head on its way to civetweb's private listener:
// the relay's own headers are removed from the client's input (so a client
// can neither forge its address nor guess at the token) and added fresh
// after the request line.
//
// Because civetweb parses the same bytes afterwards, the rewriter accepts
// only heads that can be read one way: CRLF line ends, no bare CR or LF, no
// control characters, no folded lines, no space before a header's colon, at
// most one Content-Length (digits only, at most kMaxBodyBytes) and no
// Transfer-Encoding. Anything else is refused with a status for the relay to
// answer (400, 413, 431, 501) instead of being guessed at. Bodies pass
// through unchanged; responses are not parsed at all (they come back in
// request order on the same upstream connection).
//
// Thread-safety: one rewriter per connection, used by one thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pgdr::http {

class RequestRewriter {
 public:
  static constexpr size_t kMaxHeadBytes = size_t{16} * 1024;  // civetweb's max_request_size

  // `inject`: header lines, each ending in CRLF, added to every head.
  // `strip`: header names (any case) removed from the client's heads.
  RequestRewriter(std::string inject, const std::vector<std::string>& strip, size_t max_body_bytes);

  // Consumes client bytes and appends what goes upstream to `out`. Returns
  // false once the input is refused; error_status() is then the answer and
  // every later call returns false without reading.
  bool Feed(std::string_view in, std::string& out);
  // A request head has begun and is not complete yet (the relay bounds how
  // long one may take).
  bool in_head() const { return state_ == State::kHead && !head_.empty(); }
  int error_status() const { return error_status_; }
  const std::string& error_reason() const { return error_reason_; }

 private:
  enum class State { kHead, kBody, kRefused };
  bool Refuse(int status, std::string reason);
  // Rewrites a complete head (without its final empty line) into `out`.
  bool Rewrite(std::string_view head, std::string& out);

  const std::string inject_;
  std::vector<std::string> strip_;  // lower case
  const size_t max_body_bytes_;
  State state_ = State::kHead;
  std::string head_;      // a partial head
  size_t body_left_ = 0;  // bytes of the current body still to pass
  int error_status_ = 0;
  std::string error_reason_;
};

}  // namespace pgdr::http

#include "http/request_rewriter.h"

#include <algorithm>

namespace pgdr::http {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

// RFC 9110 5.6.2 tchar.
bool IsTokenChar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

RequestRewriter::RequestRewriter(std::string inject, const std::vector<std::string>& strip,
                                 size_t max_body_bytes)
    : inject_(std::move(inject)), max_body_bytes_(max_body_bytes) {
  for (const auto& name : strip) strip_.push_back(Lower(name));
}

bool RequestRewriter::Refuse(int status, std::string reason) {
  state_ = State::kRefused;
  error_status_ = status;
  error_reason_ = std::move(reason);
  head_.clear();
  return false;
}

bool RequestRewriter::Feed(std::string_view in, std::string& out) {
  size_t i = 0;
  while (i < in.size()) {
    if (state_ == State::kRefused) return false;
    if (state_ == State::kBody) {
      const size_t take = std::min(body_left_, in.size() - i);
      out.append(in.substr(i, take));
      i += take;
      body_left_ -= take;
      if (body_left_ == 0) state_ = State::kHead;
      continue;
    }
    head_ += in[i++];
    // Empty lines before a request line are skipped (RFC 9112 2.2).
    if (head_ == "\r\n") {
      head_.clear();
      continue;
    }
    if (head_ == "\n") return Refuse(400, "bare LF");
    if (head_.size() >= 4 && head_.ends_with("\r\n\r\n")) {
      const std::string head = std::move(head_);
      head_.clear();
      if (!Rewrite(std::string_view(head).substr(0, head.size() - 4), out)) return false;
      continue;
    }
    if (head_.size() > kMaxHeadBytes) return Refuse(431, "request head too large");
  }
  return state_ != State::kRefused;
}

bool RequestRewriter::Rewrite(std::string_view head, std::string& out) {
  for (size_t i = 0; i < head.size(); ++i) {
    const auto c = static_cast<unsigned char>(head[i]);
    if (c == '\r' && (i + 1 == head.size() || head[i + 1] != '\n')) {
      return Refuse(400, "bare CR");
    }
    if (c == '\n' && (i == 0 || head[i - 1] != '\r')) return Refuse(400, "bare LF");
    if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f) {
      return Refuse(400, "control character in the request head");
    }
  }
  std::string rewritten;
  size_t content_lengths = 0;
  size_t body = 0;
  size_t pos = 0;
  bool first = true;
  while (pos <= head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos) end = head.size();
    const std::string_view line = head.substr(pos, end - pos);
    pos = end + 2;
    if (first) {
      first = false;
      if (line.empty() || line.front() == ' ' || line.front() == '\t') {
        return Refuse(400, "invalid request line");
      }
      rewritten.append(line).append("\r\n").append(inject_);
      continue;
    }
    if (line.empty() || line.front() == ' ' || line.front() == '\t') {
      return Refuse(400, "folded or empty header line");
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return Refuse(400, "header without a name");
    const std::string_view name = line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), IsTokenChar)) {
      return Refuse(400, "invalid header name");
    }
    const std::string lname = Lower(name);
    if (std::find(strip_.begin(), strip_.end(), lname) != strip_.end()) continue;
    if (lname == "transfer-encoding") {
      return Refuse(501, "Transfer-Encoding is not supported over TLS; send Content-Length");
    }
    if (lname == "content-length") {
      const std::string_view value = Trim(line.substr(colon + 1));
      if (++content_lengths > 1) return Refuse(400, "several Content-Length headers");
      if (value.empty() || value.size() > 18) return Refuse(400, "invalid Content-Length");
      body = 0;
      for (char d : value) {
        if (d < '0' || d > '9') return Refuse(400, "invalid Content-Length");
        body = body * 10 + static_cast<size_t>(d - '0');
      }
      if (body > max_body_bytes_) return Refuse(413, "request body too large");
    }
    rewritten.append(line).append("\r\n");
  }
  rewritten.append("\r\n");
  out += rewritten;
  body_left_ = body;
  state_ = body > 0 ? State::kBody : State::kHead;
  return true;
}

}  // namespace pgdr::http

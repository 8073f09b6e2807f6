#include "pgdr/core/status.h"

namespace pgdr::core {

std::string Status::ToString() const {
  const char* prefix = "";
  switch (code_) {
    case Code::kOk:
      return "OK";
    case Code::kNotFound:
      prefix = "not found: ";
      break;
    case Code::kInvalidArgument:
      prefix = "invalid argument: ";
      break;
    case Code::kIOError:
      prefix = "I/O error: ";
      break;
    case Code::kCorruption:
      prefix = "corruption: ";
      break;
    case Code::kUnavailable:
      prefix = "unavailable: ";
      break;
    case Code::kTimeout:
      prefix = "timeout: ";
      break;
    case Code::kUnsupported:
      prefix = "unsupported: ";
      break;
  }
  return prefix + message_;
}

}  // namespace pgdr::core

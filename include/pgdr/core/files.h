// Small file helpers shared by config loading, /proc readers and tests.
#pragma once

#include <string>

#include "pgdr/core/status.h"

namespace pgdr::core {

// The whole file, or IOError naming the path.
Result<std::string> ReadFile(const std::string& path);

// Replaces `path` with `text` atomically (a temporary file beside it, then
// rename), keeping the mode and, when permitted, the owner of the file it
// replaces: a PgBouncer include file or a postgresql.auto.conf must stay
// readable by the server that owns it.
Status WriteFileAtomic(const std::string& path, const std::string& text);

// An owned file descriptor, closed on destruction (-1: none).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// The directory part of a path ("." when there is none).
std::string DirName(const std::string& path);

// `path` if absolute, else `base_dir`/`path`.
std::string ResolvePath(const std::string& base_dir, const std::string& path);

}  // namespace pgdr::core

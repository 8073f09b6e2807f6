// Small file helpers shared by config loading, /proc readers and tests.
#pragma once

#include <string>

#include "pgdr/core/status.h"

namespace pgdr::core {

// The whole file, or IOError naming the path.
Result<std::string> ReadFile(const std::string& path);

// The directory part of a path ("." when there is none).
std::string DirName(const std::string& path);

// `path` if absolute, else `base_dir`/`path`.
std::string ResolvePath(const std::string& base_dir, const std::string& path);

}  // namespace pgdr::core

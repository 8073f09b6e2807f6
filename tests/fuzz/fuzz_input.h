// Helpers shared by the libFuzzer targets: the input as a string_view, and
// the input written to a private temp file for loaders that take a path
// (LoadConfig, LoadRuleFile read files the way pgdr reads them at startup).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

namespace pgdr::fuzz {

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Writes the input to <private dir>/<name> and returns the path. The
// directory is made once per process under the working directory (fuzz.sh
// runs each target in build-fuzz/run/<target>/ and removes it), so relative
// paths inside the input (query_files, password_file) resolve into it.
inline std::string WriteInput(std::string_view text, const std::string& name) {
  static const std::string dir = [] {
    std::string tmpl = "input-XXXXXX";
    return std::string(mkdtemp(tmpl.data()));
  }();
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(text.data(), text.size());
  return path;
}

}  // namespace pgdr::fuzz

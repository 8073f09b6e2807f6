// A local or mounted file system (file:///dir): keys are paths below dir.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <vector>

#include "pgdr/store/object_store.h"

namespace pgdr::store {
namespace {

namespace fs = std::filesystem;

class PosixStore final : public ObjectStore {
 public:
  PosixStore(fs::path root, std::string description, uint64_t max_objects)
      : root_(std::move(root)), description_(std::move(description)), max_objects_(max_objects) {}

  core::Status List(const ListOptions& options, const ListVisitor& visit) override {
    auto started = std::chrono::steady_clock::now();
    uint64_t seen = 0;
    // The directory holding the prefix, and the part of the name to match.
    std::string dir_key = options.prefix.substr(0, options.prefix.rfind('/') + 1);
    if (options.prefix.find('/') == std::string::npos) dir_key.clear();
    core::Status s = ListDir(dir_key, options, visit, seen);
    stats_.Record(
        "list", s.ok() ? "ok" : "error",
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return s;
  }

  core::Result<std::string> Read(std::string_view key, size_t max_bytes) override {
    auto started = std::chrono::steady_clock::now();
    core::Result<std::string> result = ReadFile(key, max_bytes);
    std::string outcome = result.ok()                                               ? "ok"
                          : result.status().code() == core::Status::Code::kNotFound ? "not_found"
                                                                                    : "error";
    stats_.Record(
        "read", outcome,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return result;
  }

  Capabilities capabilities() const override { return {true}; }
  const std::string& description() const override { return description_; }

 private:
  // Lists dir_key (a key prefix ending in '/' or empty) in key order,
  // recursing unless delimited.
  core::Status ListDir(const std::string& dir_key, const ListOptions& options,
                       const ListVisitor& visit, uint64_t& seen) {
    std::error_code ec;
    fs::directory_iterator it(root_ / dir_key, ec);
    if (ec) {
      if (ec == std::errc::no_such_file_or_directory) return core::Status::OK();
      return core::Status::IOError(description_ + ": " + std::string(kErrRequestFailed) +
                                   ": list " + dir_key + ": " + ec.message());
    }
    struct Entry {
      std::string key;
      bool dir;
      fs::path path;
    };
    std::vector<Entry> entries;
    for (const fs::directory_entry& e : it) {
      bool dir = e.is_directory(ec);
      std::string key = dir_key + e.path().filename().string() + (dir ? "/" : "");
      // Keep entries under the prefix, and directories that may hold it.
      if (!key.starts_with(options.prefix) && !(dir && options.prefix.starts_with(key))) continue;
      // Skip, before any stat, what sorts before start_after: files at or
      // before it, directories entirely before it.
      if (!options.start_after.empty() && key <= options.start_after &&
          !(dir && options.start_after.starts_with(key))) {
        continue;
      }
      entries.push_back({std::move(key), dir, e.path()});
    }
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return a.key < b.key; });
    for (const Entry& e : entries) {
      if (e.dir) {
        if (options.delimited && e.key.starts_with(options.prefix)) {
          if (core::Status s = Emit(ObjectInfo{e.key, 0, 0, true}, options, visit, seen); !s.ok()) {
            return s;
          }
          continue;
        }
        if (core::Status s = ListDir(e.key, options, visit, seen); !s.ok()) return s;
        continue;
      }
      ObjectInfo info{e.key, 0, 0, false};
      info.size = fs::file_size(e.path, ec);
      auto mtime = fs::last_write_time(e.path, ec);
      if (!ec) {
        auto sys = std::chrono::file_clock::to_sys(mtime);
        info.mtime_seconds = std::chrono::duration<double>(sys.time_since_epoch()).count();
      }
      if (core::Status s = Emit(info, options, visit, seen); !s.ok()) return s;
    }
    return core::Status::OK();
  }

  core::Status Emit(const ObjectInfo& info, const ListOptions& options, const ListVisitor& visit,
                    uint64_t& seen) {
    if (!options.start_after.empty() && info.key <= options.start_after) return core::Status::OK();
    if (++seen > max_objects_) {
      return core::Status::Unavailable(description_ + ": " + std::string(kErrTooManyKeys) + " (" +
                                       std::to_string(max_objects_) + ")");
    }
    ++stats_.objects_listed;
    return visit(info);
  }

  core::Result<std::string> ReadFile(std::string_view key, size_t max_bytes) {
    fs::path path = root_ / std::string(key);
    std::error_code ec;
    uint64_t size = fs::file_size(path, ec);
    if (ec) {
      if (ec == std::errc::no_such_file_or_directory) {
        return core::Status::NotFound(description_ + ": " + std::string(kErrNotFound) + ": " +
                                      std::string(key));
      }
      return core::Status::IOError(description_ + ": " + std::string(kErrRequestFailed) + ": " +
                                   std::string(key) + ": " + ec.message());
    }
    if (size > max_bytes) {
      return core::Status::Corruption(description_ + ": " + std::string(kErrTooLarge) + " (" +
                                      std::to_string(max_bytes) + " bytes): " + std::string(key));
    }
    std::ifstream in(path, std::ios::binary);
    std::string data(size, '\0');
    if (!in.read(data.data(), static_cast<std::streamsize>(size))) {
      return core::Status::IOError(description_ + ": " + std::string(kErrRequestFailed) + ": " +
                                   std::string(key));
    }
    return data;
  }

  fs::path root_;
  std::string description_;
  uint64_t max_objects_;
};

}  // namespace

core::Result<std::unique_ptr<ObjectStore>> MakePosixStore(const StoreOptions& options) {
  std::string path = options.url.substr(std::string_view("file://").size());
  if (path.empty() || path.front() != '/') {
    return core::Status::InvalidArgument("url \"" + options.url +
                                         "\": expected file:///absolute/path");
  }
  return std::unique_ptr<ObjectStore>(
      std::make_unique<PosixStore>(fs::path(path), options.url, options.max_objects));
}

}  // namespace pgdr::store

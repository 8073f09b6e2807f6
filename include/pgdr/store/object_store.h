// ObjectStore: the one interface every backup-store driver implements.
//
// Why: backup freshness is read straight from where backups live (S3, GCS,
// Azure Blob, a mounted file system). The layouts (barman-cloud, WAL-G,
// pgBackRest, pg_dump) only need three things from a store — list keys in
// order, read a small object, and know what the driver can do natively — so
// the drivers stay small and interchangeable, in the manner of pgBackRest's
// src/storage/.
//
// Keys are relative to the store's root (bucket + prefix of its URL), use '/'
// as separator and compare bytewise, as S3 orders them.
//
// Thread-safety: a driver is used by one monitor at a time (not thread-safe).
// Ownership: drivers are handed out as std::unique_ptr by MakeObjectStore().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "pgdr/core/status.h"

namespace pgdr::store {

// Error wording shared by all drivers so that logs read the same whatever the
// store: "<store>: <kErr...>: <detail>".
inline constexpr std::string_view kErrRequestFailed = "request failed";
inline constexpr std::string_view kErrHttpStatus = "unexpected HTTP status";
inline constexpr std::string_view kErrAccessDenied = "access denied";
inline constexpr std::string_view kErrNotFound = "object not found";
inline constexpr std::string_view kErrTimeout = "request timed out";
inline constexpr std::string_view kErrMalformedListing = "malformed listing";
inline constexpr std::string_view kErrTooLarge = "object larger than the read limit";
inline constexpr std::string_view kErrTooManyKeys = "listing exceeds max_objects";
inline constexpr std::string_view kErrCredentials = "credentials unavailable";

// One listed entry. A common prefix (a "directory" when listing with a
// delimiter) has is_prefix set, its key ends with the delimiter and has no
// size or mtime.
struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  double mtime_seconds = 0;  // Unix time of the last write
  bool is_prefix = false;
};

struct ListOptions {
  std::string prefix;       // only keys starting with this
  std::string start_after;  // only keys sorting strictly after this (bytewise)
  bool delimited = false;   // roll up keys below the next '/' into common prefixes
};

// Called once per entry in ascending key order; a non-OK Status stops the listing.
using ListVisitor = std::function<core::Status(const ObjectInfo&)>;

// Counts of requests a driver made, by operation ("list", "read") and result
// ("ok", "error", "timeout", "not_found", "denied"), and their total time.
struct RequestStats {
  std::map<std::pair<std::string, std::string>, uint64_t> count;
  std::map<std::string, double> seconds;
  uint64_t objects_listed = 0;
  void Record(std::string_view operation, std::string_view result, double seconds_taken);
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Lists in ascending key order. Drivers honour start_after natively only
  // when capabilities().native_start_after; otherwise use ListAfter().
  virtual core::Status List(const ListOptions& options, const ListVisitor& visit) = 0;

  // Reads a whole object of at most max_bytes (larger ones fail with
  // kErrTooLarge rather than filling memory).
  virtual core::Result<std::string> Read(std::string_view key, size_t max_bytes) = 0;

  struct Capabilities {
    bool native_start_after = false;  // the server skips keys before start_after
  };
  virtual Capabilities capabilities() const = 0;

  // "s3://bucket/prefix" — safe to log: never credentials or signatures.
  virtual const std::string& description() const = 0;

  RequestStats& stats() { return stats_; }

 protected:
  RequestStats stats_;
};

// Lists keys after options.start_after whatever the driver supports: natively,
// or by walking the '/' hierarchy and skipping whole "directories" that sort
// before start_after, so that resuming costs about one directory listing per
// level instead of the whole history.
core::Status ListAfter(ObjectStore& store, const ListOptions& options, const ListVisitor& visit);

// Where credentials come from. Each secret is read, in order, from the file
// named by *_file, the environment variable named by *_env, or the standard
// variable of the provider (AWS_ACCESS_KEY_ID, AZURE_STORAGE_KEY, ...).
struct SecretSource {
  std::string env;
  std::string file;
};

// Driver settings parsed from one `backup_stores:` entry.
struct StoreOptions {
  std::string url;  // s3://bucket/prefix, gs://bucket/prefix, azure://container/prefix, file:///dir
  std::string endpoint;  // scheme://host[:port][/path]; empty = the provider's public endpoint
  std::string region = "us-east-1";
  std::optional<bool> path_style;  // default: true when endpoint is set, else false
  SecretSource access_key_id, secret_access_key, session_token;  // s3, gcs (HMAC)
  std::string account_name;                                      // azure
  SecretSource account_key, sas_token;                           // azure
  std::string ca_file;
  bool insecure_skip_verify = false;
  std::chrono::milliseconds timeout{10000};  // per request
  uint64_t max_objects = 1000000;            // per listing
};

// Reads a secret as described above; NotFound when no source has it.
core::Result<std::string> ReadSecret(const SecretSource& source, std::string_view standard_env);

// The driver for options.url's scheme. Errors name the offending option.
core::Result<std::unique_ptr<ObjectStore>> MakeObjectStore(const StoreOptions& options);

// Driver factories (one per driver folder); MakeObjectStore dispatches to them.
core::Result<std::unique_ptr<ObjectStore>> MakePosixStore(const StoreOptions& options);
core::Result<std::unique_ptr<ObjectStore>> MakeS3Store(const StoreOptions& options);
core::Result<std::unique_ptr<ObjectStore>> MakeGcsStore(const StoreOptions& options);
core::Result<std::unique_ptr<ObjectStore>> MakeAzureStore(const StoreOptions& options);

// Time stamps as object stores write them, to Unix seconds.
std::optional<double> ParseIso8601(std::string_view text);  // 2026-11-23T19:37:47.123Z
std::optional<double> ParseRfc1123(std::string_view text);  // Mon, 23 Nov 2026 19:37:47 GMT

}  // namespace pgdr::store

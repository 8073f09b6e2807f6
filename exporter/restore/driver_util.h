// Helpers shared by the restore drivers and the engine (module-private).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "pgdr/core/status.h"
#include "pgdr/core/subprocess.h"
#include "pgdr/restore/driver.h"
#include "pgdr/store/archive.h"

namespace pgdr::restore {

core::Result<std::unique_ptr<RestoreDriver>> MakeBarmanCloudDriver(
    const store::StoreSettings& store);
core::Result<std::unique_ptr<RestoreDriver>> MakePgBackRestDriver(
    const store::StoreSettings& store);
core::Result<std::unique_ptr<RestoreDriver>> MakePgDumpDriver(const store::StoreSettings& store);

// One word for /bin/sh (restore_command is run through a shell by PostgreSQL).
std::string ShellQuote(std::string_view word);

// A recovery_target_time value PostgreSQL accepts when it starts: RFC 3339's
// "Z" becomes "+00" (the postmaster parses the setting before it has loaded
// its time zone abbreviations, so a "Z" suffix is rejected and it exits).
std::string PostgresTime(std::string_view rfc3339);

// A postgresql.conf string literal: '...' with quotes doubled.
std::string ConfQuote(std::string_view value);

// Appends lines to <data_dir>/postgresql.auto.conf (later lines win).
core::Status AppendAutoConf(const std::string& data_dir, const std::string& lines);

// Creates an empty file (recovery.signal).
core::Status TouchFile(const std::string& path);

// Runs a tool; a non-zero exit becomes IOError "<step>: <tool> exited ...".
core::Status RunTool(std::string_view step, std::vector<std::string> argv,
                     const std::map<std::string, std::string>& env, milliseconds timeout,
                     const std::atomic<bool>* cancel = nullptr);

// The AWS_* variables barman-cloud and pgBackRest read, from the store's
// secret sources (s3:// and gs:// with HMAC keys).
core::Result<std::map<std::string, std::string>> S3Environment(const store::StoreOptions& options);

}  // namespace pgdr::restore

// Structured logging on top of spdlog: one line per event, as logfmt
// (`ts=... level=info msg="..." key=value`) or JSON, chosen once at start-up
// by --log.format. Callers pass fields, never pre-formatted text, so that
// every decision (a failover refused, a target down) is one parseable line.
//
// Secrets: never pass a DSN, password, token or signed URL as a field.
//
// Thread-safety: all functions are safe to call from any thread after
// InitLogging() has returned.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgdr/core/status.h"

namespace pgdr::core {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class LogFormat { kLogfmt, kJson };

using LogField = std::pair<std::string_view, std::string_view>;

// Parses "debug|info|warn|error" and "logfmt|json".
Result<LogLevel> ParseLogLevel(std::string_view text);
Result<LogFormat> ParseLogFormat(std::string_view text);

// Sets up the process logger (stderr). Call once before starting threads.
void InitLogging(LogLevel level, LogFormat format);

// Renders one event in the configured format, without the timestamp and
// level (spdlog adds those). Exposed for tests.
std::string RenderLogLine(LogFormat format, std::string_view msg,
                          std::initializer_list<LogField> fields);

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});

// Fields assembled at run time (an event whose field list is built in
// steps, e.g. a decision's common fields plus its result).
using OwnedLogFields = std::vector<std::pair<std::string, std::string>>;
void Log(LogLevel level, std::string_view msg, const OwnedLogFields& fields);

}  // namespace pgdr::core

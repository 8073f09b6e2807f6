#include "pgdr/core/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>

#include "pgdr/core/strings.h"

namespace pgdr::core {
namespace {

// Set once by InitLogging() before any thread starts; read-only afterwards.
std::atomic<LogFormat> g_format{LogFormat::kLogfmt};

bool NeedsQuoting(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20 ||
        c == 0x7f) {
      return true;
    }
  }
  return false;
}

spdlog::level::level_enum ToSpdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

Result<LogLevel> ParseLogLevel(std::string_view text) {
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "warn") return LogLevel::kWarn;
  if (text == "error") return LogLevel::kError;
  return Status::InvalidArgument("unknown log level \"" + std::string(text) +
                                 "\" (want debug, info, warn or error)");
}

Result<LogFormat> ParseLogFormat(std::string_view text) {
  if (text == "logfmt") return LogFormat::kLogfmt;
  if (text == "json") return LogFormat::kJson;
  return Status::InvalidArgument("unknown log format \"" + std::string(text) +
                                 "\" (want logfmt or json)");
}

void InitLogging(LogLevel level, LogFormat format) {
  g_format.store(format);
  auto logger = spdlog::stderr_logger_mt("pgdr");
  if (format == LogFormat::kJson) {
    logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})",
                        spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("ts=%Y-%m-%dT%H:%M:%S.%eZ level=%l %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(ToSpdlog(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

namespace {

template <typename Fields>
std::string Render(LogFormat format, std::string_view msg, const Fields& fields) {
  std::string out;
  out.reserve(64 + msg.size());
  if (format == LogFormat::kJson) {
    out += "\"msg\":";
    AppendQuoted(out, msg, QuoteStyle::kJson);
    for (const auto& [k, v] : fields) {
      out += ',';
      AppendQuoted(out, k, QuoteStyle::kJson);
      out += ':';
      AppendQuoted(out, v, QuoteStyle::kJson);
    }
    // The logger's pattern opens and closes the JSON object around this.
    return out;
  }
  out += "msg=";
  AppendQuoted(out, msg, QuoteStyle::kGo);
  for (const auto& [k, v] : fields) {
    out += ' ';
    out += k;
    out += '=';
    if (NeedsQuoting(v)) {
      AppendQuoted(out, v, QuoteStyle::kGo);
    } else {
      out += v;
    }
  }
  return out;
}

}  // namespace

std::string RenderLogLine(LogFormat format, std::string_view msg,
                          std::initializer_list<LogField> fields) {
  return Render(format, msg, fields);
}

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  const LogFormat format = g_format.load(std::memory_order_relaxed);
  spdlog::log(ToSpdlog(level), "{}", Render(format, msg, fields));
}

void Log(LogLevel level, std::string_view msg, const OwnedLogFields& fields) {
  const LogFormat format = g_format.load(std::memory_order_relaxed);
  spdlog::log(ToSpdlog(level), "{}", Render(format, msg, fields));
}

}  // namespace pgdr::core

// The PromQL lexer (private to the module): text to a token list.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pgdr/core/status.h"
#include "pgdr/promql/parser.h"

namespace pgdr::promql {

enum class Tok {
  kEof,
  kIdentifier,  // includes keywords; metric names may contain ':'
  kNumber,
  kDuration,
  kString,
  kLParen,
  kRParen,
  kLBrace,
  kRBrace,
  kLBracket,
  kRBracket,
  kComma,
  kAssign,
  kColon,
  kAt,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kEqlc,
  kNeq,
  kLte,
  kLss,
  kGte,
  kGtr,
  kEqlRegex,
  kNeqRegex,
};

struct Token {
  Tok tok;
  int pos;                  // byte offset of the first character
  int end;                  // byte offset after the last character
  std::string text;         // identifier text, unquoted string value
  double number = 0;        // kNumber
  int64_t duration_ms = 0;  // kDuration
};

// "line:col: parse error: msg" for a byte offset, as Prometheus words it.
std::string ParseErrorAt(std::string_view input, int pos, std::string_view msg);

// Tokenises the whole input; the list always ends with kEof.
core::Result<std::vector<Token>> Lex(std::string_view input);

// Parses "5m", "1h30m", "250ms" (no sign). Exposed for the test scripts.
core::Result<int64_t> ParseDurationMs(std::string_view text);

}  // namespace pgdr::promql

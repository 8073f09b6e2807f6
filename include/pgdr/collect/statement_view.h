// StatementView: one top statement of a member's last collection, as
// /api/v1/statements shows it. Statement text lives only here (truncated),
// never in a label: labels are bounded, texts are not.
#pragma once

#include <string>

namespace pgdr::collect {

struct StatementView {
  std::string datname;
  std::string queryid;
  std::string query;  // truncated to kStatementTextLimit bytes
  double calls_per_second = 0;
  double time_seconds_per_second = 0;
  double mean_seconds = 0;
};

}  // namespace pgdr::collect

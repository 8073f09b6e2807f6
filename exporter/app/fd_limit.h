// The open-file limit for serving: pgdr keeps one socket per member (plus
// one per extra database a `target_databases` query fans out to), so a fleet
// of 2,000 members needs more than the 1,024 descriptors most service
// managers and shells give by default. The soft limit is raised to the hard
// one at start, as Prometheus and most daemons do; the hard limit is the
// operator's (LimitNOFILE=, ulimit -Hn) and is never exceeded.
#pragma once

#include <cstdint>

namespace pgdr::app {

struct FdLimit {
  uint64_t before = 0;  // soft limit found at start
  uint64_t after = 0;   // soft limit now (== before when raising failed or was not needed)
  uint64_t hard = 0;
};

// Raises RLIMIT_NOFILE's soft limit to the hard limit; logs the change.
FdLimit RaiseFdLimit();

}  // namespace pgdr::app

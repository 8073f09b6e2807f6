#include "app/fd_limit.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "pgdr/core/log.h"

namespace pgdr::app {

FdLimit RaiseFdLimit() {
  FdLimit out;
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return out;
  out.before = out.after = lim.rlim_cur;
  out.hard = lim.rlim_max;
  if (lim.rlim_cur >= lim.rlim_max) return out;
  rlimit raised = lim;
  raised.rlim_cur = lim.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &raised) != 0) {
    core::Log(core::LogLevel::kWarn, "cannot raise the open-file limit",
              {{"soft", std::to_string(lim.rlim_cur)},
               {"hard", std::to_string(lim.rlim_max)},
               {"err", std::strerror(errno)}});
    return out;
  }
  out.after = raised.rlim_cur;
  core::Log(core::LogLevel::kInfo, "raised the open-file limit",
            {{"from", std::to_string(out.before)}, {"to", std::to_string(out.after)}});
  return out;
}

}  // namespace pgdr::app

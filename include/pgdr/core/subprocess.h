// Running a helper program (pg_ctl, barman-cloud-*, pgbackrest, pg_waldump)
// from an argv, never through a shell, with a deadline.
//
// Why here: the actions' `exec` provider and the restore engine both run
// external tools; both need the same guarantees — no shell quoting, secrets
// handed over in the environment (never on a command line that `ps` shows),
// the whole process group killed at the deadline, and a bounded capture of
// what the tool printed so that an error can quote it.
//
// Thread-safety: RunProcess() may be called from any thread; it waits with
// waitpid on its own child only.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "pgdr/core/status.h"

namespace pgdr::core {

struct ProcessOptions {
  std::vector<std::string> argv;              // argv[0] is looked up in PATH
  std::map<std::string, std::string> env;     // added to (or replacing in) this process's
  std::chrono::milliseconds timeout{60000};   // then SIGKILL to the whole process group
  std::string stdout_path;                    // empty: stdout captured (up to capture_bytes)
  size_t capture_bytes = 64 << 10;            // per stream; the tail is kept
  std::string cwd;                            // empty: this process's
  const std::atomic<bool>* cancel = nullptr;  // set to true: killed as at the deadline
};

struct ProcessResult {
  int exit_code = 0;  // 128 + signal when killed by a signal
  std::string out;    // the tail of stdout (empty when it went to stdout_path)
  std::string err;    // the tail of stderr
  double seconds = 0;
};

// Runs to completion. Timeout when the deadline passed (the group was
// killed); IOError when the program could not be started. A non-zero exit is
// a result, not an error: callers decide what it means.
Result<ProcessResult> RunProcess(const ProcessOptions& options);

// "argv[0] exited with status N: <last line of stderr>" for messages.
std::string DescribeExit(const ProcessOptions& options, const ProcessResult& result);

}  // namespace pgdr::core

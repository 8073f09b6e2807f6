// The pgdr_exporter command line: flags in Prometheus's style and the
// subcommands (check-config, check-rules, test-rules, promql-test,
// promote-region, and the operator procedures switchover and rejoin).
#pragma once

namespace pgdr::app {

// Runs the program; returns the process exit code.
int RunCli(int argc, char** argv);

}  // namespace pgdr::app

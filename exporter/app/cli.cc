#include "pgdr/cli.h"

#include <iostream>

namespace pgdr {

int RunCli(int argc, char** argv) {
  (void)argc;
  (void)argv;
  std::cerr << "pgdr_exporter: under construction\n";
  return 1;
}

}  // namespace pgdr

#include "pgdr/cli.h"

int main(int argc, char** argv) { return pgdr::RunCli(argc, argv); }

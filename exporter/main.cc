#include "pgdr/app/cli.h"

int main(int argc, char** argv) { return pgdr::app::RunCli(argc, argv); }

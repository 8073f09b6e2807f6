#include <malloc.h>

#include <cstdlib>

#include "pgdr/app/cli.h"

int main(int argc, char** argv) {
  // glibc gives threads that allocate at once arenas of their own (up to
  // eight per core), each keeping the memory freed into it: with a collection
  // thread per target, HTTP and evaluator threads that is megabytes of RSS
  // for a process whose live heap is a few. Two arenas keep contention low.
  // MALLOC_ARENA_MAX, when set, still decides.
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, 2);
  return pgdr::app::RunCli(argc, argv);
}

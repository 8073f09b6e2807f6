// POST /api/v1/maintenance bodies: the JSON an operator (or anyone who can
// reach the admin API) sends to open or close a window. The handler must
// answer 200/400/404 and keep the window set consistent for any input.
#include "fuzz_input.h"
#include "pgdr/actions/maintenance.h"
#include "pgdr/http/server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pgdr::actions::MaintenanceWindows windows({}, {"demo", "other"});
  pgdr::http::HttpRequest request;
  request.method = "POST";
  request.path = "/api/v1/maintenance";
  request.body = std::string(pgdr::fuzz::AsText(data, size));
  const auto now = std::chrono::system_clock::time_point{} + std::chrono::hours(24 * 20000);
  const pgdr::http::HttpResponse response = windows.HandlePost(request, now);
  if (response.status != 200 && response.status != 400 && response.status != 404) __builtin_trap();
  (void)windows.HandleGet(now);
  return 0;
}

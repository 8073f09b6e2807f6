// How the HTTP object-store drivers word a request's outcome, shared so
// that every store reports errors the same way; the requests themselves go
// through the one pgdr::http::Client.
#pragma once

#include <string>
#include <string_view>

#include "pgdr/core/status.h"
#include "pgdr/http/client.h"
#include "pgdr/store/object_store.h"

namespace pgdr::store {

using HttpResponse = http::ClientResponse;

// A truncated body is kErrTooLarge, 404 NotFound (kErrNotFound), 401/403
// Unavailable (kErrAccessDenied), other non-2xx IOError (kErrHttpStatus);
// `what` names the key or listing, `description` the store.
core::Status CheckHttpResponse(const HttpResponse& response, const std::string& description,
                               const std::string& what, size_t max_body);
// A transport failure (kErrTimeout or kErrRequestFailed) in the same wording.
core::Status TransportError(const core::Status& status, const std::string& description,
                            const std::string& what);
// The `result` label of pgdr_backup_store_requests_total for a request's Status.
std::string_view RequestResult(const core::Status& status);

// A GET of `url` with the store's timeout and TLS settings; drivers add
// only their own signing headers.
http::ClientRequest StoreGet(const StoreOptions& options, std::string url,
                             std::vector<std::string> headers, size_t max_body);

}  // namespace pgdr::store

#include "store/http_store.h"

#include <algorithm>
#include <chrono>

namespace pgdr::store {

HttpObjectStore::HttpObjectStore(StoreOptions options, std::string container, std::string root,
                                 std::string description, Paging paging)
    : options_(std::move(options)),
      container_(std::move(container)),
      root_(std::move(root)),
      description_(std::move(description)),
      paging_(paging) {}

core::Status HttpObjectStore::List(const ListOptions& options, const ListVisitor& visit) {
  std::string marker;
  uint64_t seen = 0;
  do {
    core::Result<HttpResponse> response =
        Send("list", "", PageQuery(options, marker), paging_.max_page_bytes);
    if (!response.ok()) return response.status();
    core::Result<ListPage> page = ParsePage(response->body);
    if (!page.ok()) return core::Status::Corruption(description_ + ": " + page.status().message());
    std::sort(page->entries.begin(), page->entries.end(),
              [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    for (ObjectInfo& info : page->entries) {
      if (!info.key.starts_with(root_)) continue;
      info.key.erase(0, root_.size());
      // Servers without a native start-after list from the prefix: skip here.
      if (!options.start_after.empty() && info.key <= options.start_after) continue;
      if (++seen > options_.max_objects) {
        return core::Status::Unavailable(description_ + ": " + std::string(kErrTooManyKeys) + " (" +
                                         std::to_string(options_.max_objects) + ")");
      }
      ++stats_.objects_listed;
      if (core::Status s = visit(info); !s.ok()) return s;
    }
    if (!page->next_token.empty() && page->next_token == marker) {
      return core::Status::Corruption(description_ + ": " + std::string(kErrMalformedListing) +
                                      ": " + std::string(paging_.marker_name) + " did not advance");
    }
    marker = page->next_token;
  } while (!marker.empty());
  return core::Status::OK();
}

core::Result<std::string> HttpObjectStore::Read(std::string_view key, size_t max_bytes) {
  core::Result<HttpResponse> response = Send("read", root_ + std::string(key), {}, max_bytes);
  if (!response.ok()) return response.status();
  return std::move(response->body);
}

std::string HttpObjectStore::What(const std::string& key) const {
  return key.empty() ? "list " + container_ : key;
}

core::Result<HttpResponse> HttpObjectStore::Send(std::string_view operation, const std::string& key,
                                                 const HeaderList& query, size_t max_body) {
  const auto started = std::chrono::steady_clock::now();
  core::Result<HttpResponse> response = SendOnce(key, query, max_body);
  core::Status status = response.ok()
                            ? CheckHttpResponse(*response, description_, What(key), max_body)
                            : response.status();
  stats_.Record(operation, RequestResult(status),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (!status.ok()) return status;
  return response;
}

}  // namespace pgdr::store

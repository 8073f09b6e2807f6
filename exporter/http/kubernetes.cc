#include "pgdr/http/kubernetes.h"

#include <cstdlib>

#include "pgdr/core/files.h"

namespace pgdr::http {

KubernetesApi InClusterDefaults(KubernetesApi api) {
  if (api.url.empty()) {
    const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
    const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
    if (host != nullptr && *host != '\0') {
      const std::string h(host);
      // An IPv6 service address needs brackets in a URL.
      const std::string bracketed = h.find(':') != std::string::npos ? "[" + h + "]" : h;
      api.url = "https://" + bracketed + ":" + (port != nullptr && *port ? port : "443");
    } else {
      api.url = "https://kubernetes.default.svc";
    }
  }
  while (!api.url.empty() && api.url.back() == '/') api.url.pop_back();
  if (api.token_file.empty()) api.token_file = std::string(kServiceAccountDir) + "token";
  if (api.ca_file.empty()) api.ca_file = std::string(kServiceAccountDir) + "ca.crt";
  return api;
}

core::Result<ClientResponse> KubernetesRequest(Client& client, const KubernetesApi& api,
                                               const std::string& method, const std::string& path,
                                               std::chrono::milliseconds timeout,
                                               const std::string& content_type,
                                               const std::string& body) {
  ClientRequest req;
  req.method = method;
  req.url = api.url + path;
  req.timeout = timeout;
  req.max_body = 16 << 20;  // a namespace's Cluster list with every status
  req.tls.ca_file = api.ca_file;
  req.headers.push_back("Accept: application/json");
  if (!api.token_file.empty()) {
    auto token = core::ReadFile(api.token_file);
    if (!token.ok()) {
      return core::Status::IOError("Kubernetes token " + api.token_file + ": cannot read");
    }
    std::string t = std::move(*token);
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    req.headers.push_back("Authorization: Bearer " + t);
  }
  if (!content_type.empty()) req.headers.push_back("Content-Type: " + content_type);
  req.body = body;
  return client.Send(req);
}

}  // namespace pgdr::http

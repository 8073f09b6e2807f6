// A minimal Kubernetes API client over the one HTTP client (client.h):
// where the API server is and how to authenticate to it, and one bounded
// request. The CloudNativePG discovery (app/cnpg_poller.h) uses it; a
// Kubernetes Lease backend would too.
//
// Why its own file: in a pod the answer is the service account's (the
// token and CA under /var/run/secrets/kubernetes.io/serviceaccount/, the
// server from KUBERNETES_SERVICE_HOST/PORT), out of a cluster and in tests
// it is configured; both paths must give one shape. The token is read from
// its file at each request because projected service-account tokens are
// rotated (hourly) under a running process.
//
// Thread-safety: KubernetesApi is an immutable value; a Client is used by
// one thread at a time (client.h).
#pragma once

#include <chrono>
#include <string>

#include "pgdr/core/status.h"
#include "pgdr/http/client.h"

namespace pgdr::http {

inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount/";

struct KubernetesApi {
  std::string url;         // "https://host:port", no trailing slash
  std::string token_file;  // bearer token, re-read at each request; empty: none
  std::string ca_file;     // the API server's CA; empty: the system's

  bool operator==(const KubernetesApi&) const = default;
};

// The in-cluster defaults for each field left empty: url from
// KUBERNETES_SERVICE_HOST/PORT (else https://kubernetes.default.svc),
// token and CA from kServiceAccountDir.
KubernetesApi InClusterDefaults(KubernetesApi configured);

// `method` `path` (from "/api..." or "/apis...", query included) with the
// bearer token; `content_type` and `body` for writes. Transport errors and a
// token that cannot be read are a Status; any HTTP status is a response.
core::Result<ClientResponse> KubernetesRequest(Client& client, const KubernetesApi& api,
                                               const std::string& method, const std::string& path,
                                               std::chrono::milliseconds timeout,
                                               const std::string& content_type = "",
                                               const std::string& body = "");

}  // namespace pgdr::http

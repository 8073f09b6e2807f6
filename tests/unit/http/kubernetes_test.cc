#include "pgdr/http/kubernetes.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace pgdr::http {
namespace {

// Restores an environment variable on scope exit.
class EnvVar {
 public:
  EnvVar(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~EnvVar() {
    if (old_.empty()) {
      unsetenv(name_);
    } else {
      setenv(name_, old_.c_str(), 1);
    }
  }

 private:
  const char* name_;
  std::string old_;
};

TEST(Kubernetes, InClusterDefaultsFromTheServiceEnvironment) {
  const EnvVar host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  const EnvVar port("KUBERNETES_SERVICE_PORT", "6443");
  const KubernetesApi api = InClusterDefaults({});
  EXPECT_EQ(api.url, "https://10.96.0.1:6443");
  EXPECT_EQ(api.token_file, "/var/run/secrets/kubernetes.io/serviceaccount/token");
  EXPECT_EQ(api.ca_file, "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
}

TEST(Kubernetes, InClusterDefaultsIpv6AndOutOfCluster) {
  {
    const EnvVar host("KUBERNETES_SERVICE_HOST", "fd00::1");
    const EnvVar port("KUBERNETES_SERVICE_PORT", nullptr);
    EXPECT_EQ(InClusterDefaults({}).url, "https://[fd00::1]:443");
  }
  const EnvVar host("KUBERNETES_SERVICE_HOST", nullptr);
  EXPECT_EQ(InClusterDefaults({}).url, "https://kubernetes.default.svc");
}

TEST(Kubernetes, ConfiguredValuesWin) {
  const EnvVar host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  const KubernetesApi api = InClusterDefaults({"https://127.0.0.1:8443/", "/tmp/t", "/tmp/ca"});
  EXPECT_EQ(api.url, "https://127.0.0.1:8443");
  EXPECT_EQ(api.token_file, "/tmp/t");
  EXPECT_EQ(api.ca_file, "/tmp/ca");
}

TEST(Kubernetes, UnreadableTokenIsAnErrorWithoutSending) {
  Client client;
  auto r = KubernetesRequest(client, {"https://127.0.0.1:1", "/nonexistent/token", ""}, "GET",
                             "/api/v1/namespaces", std::chrono::milliseconds(500));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/token: cannot read"), std::string::npos);
}

}  // namespace
}  // namespace pgdr::http

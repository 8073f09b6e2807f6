#include "pgdr/collect/pg_connect.h"

#include <cstdlib>
#include <vector>

#include "pgdr/core/files.h"
#include "pgdr/core/strings.h"

namespace pgdr::collect {
std::string ResolvePassword(const std::optional<std::string>& env,
                            const std::optional<std::string>& file) {
  if (env) {
    const char* value = std::getenv(env->c_str());
    return value != nullptr ? value : "";
  }
  if (file) {
    auto text = core::ReadFile(*file);
    if (text.ok()) return std::string(core::TrimRight(*text));
  }
  return "";
}

PgConnPtr StartConnection(const std::string& dsn, const std::string& password,
                          const std::string& server_options) {
  std::vector<const char*> keys = {"dbname", "application_name"};
  std::vector<const char*> values = {dsn.c_str(), "pgdr_exporter"};
  if (!server_options.empty()) {
    keys.push_back("options");
    values.push_back(server_options.c_str());
  }
  if (!password.empty()) {
    keys.push_back("password");
    values.push_back(password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  return PgConnPtr(PQconnectStartParams(keys.data(), values.data(), 1));
}

std::string ConnectionErrorText(const PGconn* conn) {
  return conn != nullptr ? std::string(core::TrimRight(PQerrorMessage(conn)))
                         : std::string("out of memory");
}

}  // namespace pgdr::collect

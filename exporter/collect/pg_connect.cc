#include "pgdr/collect/pg_connect.h"

#include <algorithm>
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
                          const std::string& server_options, const std::string& database) {
  // Per-database connections name themselves apart: a DBA (and a test)
  // counting the member's own connection still finds one.
  std::vector<const char*> keys = {"dbname", "application_name"};
  std::vector<const char*> values = {dsn.c_str(),
                                     database.empty() ? "pgdr_exporter" : "pgdr_exporter_db"};
  if (!database.empty()) {
    // Only the first dbname is expanded as a conninfo; a later one is a plain
    // name that overrides the expanded one.
    keys.push_back("dbname");
    values.push_back(database.c_str());
  }
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

namespace {

std::string ErrorText(PGconn* conn) {
  return conn != nullptr ? std::string(core::TrimRight(PQerrorMessage(conn))) : "no memory";
}

core::Result<PgResultPtr> Exec(PGconn* conn, const std::string& sql) {
  PgResultPtr res(PQexec(conn, sql.c_str()));
  const auto st = PQresultStatus(res.get());
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    return core::Status::IOError(sql.substr(0, sql.find(' ')) + ": " + ErrorText(conn));
  }
  return res;
}

}  // namespace

core::Result<PgConnPtr> ConnectBlocking(const std::string& dsn, const std::string& password,
                                        std::chrono::milliseconds timeout,
                                        std::string_view application_name,
                                        bool with_statement_timeout) {
  const std::string connect_timeout =
      std::to_string(std::max<long long>(2, (timeout.count() + 999) / 1000));
  const std::string options = "-c statement_timeout=" + std::to_string(timeout.count() + 5000);
  const std::string app(application_name);
  std::vector<const char*> keys = {"dbname", "connect_timeout", "application_name"};
  std::vector<const char*> values = {dsn.c_str(), connect_timeout.c_str(), app.c_str()};
  if (!password.empty()) {
    keys.push_back("password");
    values.push_back(password.c_str());
  }
  if (with_statement_timeout) {
    keys.push_back("options");
    values.push_back(options.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PgConnPtr conn(PQconnectdbParams(keys.data(), values.data(), 1));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    return core::Status::Unavailable("connect: " + ErrorText(conn.get()));
  }
  return conn;
}

core::Result<std::string> QueryValue(PGconn* conn, const std::string& sql) {
  core::Result<PgResultPtr> res = Exec(conn, sql);
  if (!res.ok()) return res.status();
  PGresult* r = res->get();
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && PQnfields(r) > 0) {
    return std::string(PQgetvalue(r, 0, 0));
  }
  return std::string();
}

core::Result<std::string> QueryText(PGconn* conn, const std::string& sql) {
  core::Result<PgResultPtr> res = Exec(conn, sql);
  if (!res.ok()) return res.status();
  PGresult* r = res->get();
  std::string out;
  for (int row = 0; row < PQntuples(r); ++row) {
    if (row > 0) out += '\n';
    for (int col = 0; col < PQnfields(r); ++col) {
      if (col > 0) out += '|';
      if (!PQgetisnull(r, row, col)) out += PQgetvalue(r, row, col);
    }
  }
  return out;
}

}  // namespace pgdr::collect

#include "actions/pg_session.h"

#include <poll.h>

#include "pgdr/collect/pg_connect.h"
#include "pgdr/core/strings.h"

namespace pgdr::actions {

using std::chrono::milliseconds;

namespace {

std::string ErrorOf(PGconn* conn) { return std::string(core::Trim(PQerrorMessage(conn))); }

core::Result<std::string> FirstCell(PGconn* conn, PGresult* res, const std::string& sql) {
  const auto st = PQresultStatus(res);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    const char* msg = PQresultErrorMessage(res);
    const std::string text = msg && *msg ? std::string(core::Trim(msg)) : ErrorOf(conn);
    return core::Status::IOError(sql.substr(0, sql.find(' ')) + ": " + text);
  }
  if (st == PGRES_TUPLES_OK && PQntuples(res) > 0 && PQnfields(res) > 0) {
    return std::string(PQgetvalue(res, 0, 0));
  }
  return std::string();
}

}  // namespace

core::Result<collect::PgConnPtr> Connect(const std::string& dsn, const std::string& password,
                                         milliseconds timeout, bool with_statement_timeout) {
  return collect::ConnectBlocking(dsn, password, timeout, "pgdr_actions", with_statement_timeout);
}

core::Result<std::string> Query(PGconn* conn, const std::string& sql) {
  collect::PgResultPtr res(PQexec(conn, sql.c_str()));
  return FirstCell(conn, res.get(), sql);
}

core::Result<std::string> QueryWithin(PGconn* conn, const std::string& sql, milliseconds timeout) {
  if (!PQsendQuery(conn, sql.c_str())) {
    return core::Status::IOError(sql.substr(0, sql.find(' ')) + ": " + ErrorOf(conn));
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (PQisBusy(conn)) {
    const auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= milliseconds::zero()) {
      if (PGcancel* cancel = PQgetCancel(conn)) {
        char buf[256];
        (void)PQcancel(cancel, buf, sizeof buf);
        PQfreeCancel(cancel);
      }
      return core::Status::Timeout(sql.substr(0, sql.find(' ')) + " did not finish within " +
                                   std::to_string(timeout.count()) + "ms");
    }
    pollfd fd{PQsocket(conn), POLLIN, 0};
    if (poll(&fd, 1, static_cast<int>(std::min<long long>(left.count(), 1000))) < 0) continue;
    if (!PQconsumeInput(conn)) {
      return core::Status::IOError(sql.substr(0, sql.find(' ')) + ": " + ErrorOf(conn));
    }
  }
  core::Result<std::string> out = std::string();
  bool first = true;
  while (PGresult* raw = PQgetResult(conn)) {
    collect::PgResultPtr res(raw);
    if (first) out = FirstCell(conn, res.get(), sql);
    first = false;
  }
  return out;
}

}  // namespace pgdr::actions

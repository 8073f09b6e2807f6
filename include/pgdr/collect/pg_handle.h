// RAII owners for libpq handles. A PGconn or PGresult is never held raw.
#pragma once

#include <libpq-fe.h>

#include <memory>

namespace pgdr::collect {

struct PgConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgResultClearer {
  void operator()(PGresult* r) const { PQclear(r); }
};

using PgConnPtr = std::unique_ptr<PGconn, PgConnCloser>;
using PgResultPtr = std::unique_ptr<PGresult, PgResultClearer>;

}  // namespace pgdr::collect

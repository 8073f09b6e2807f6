#include "pgdr/actions/providers.h"

#include <libpq-fe.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

#include "actions/pg_session.h"
#include "pgdr/collect/pg_handle.h"
#include "pgdr/core/files.h"
#include "pgdr/core/strings.h"
#include "pgdr/core/subprocess.h"

namespace pgdr::actions {

namespace {

using std::chrono::milliseconds;

std::string Quote(const std::string& s, char q) {
  std::string out(1, q);
  for (char c : s) {
    if (c == q || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + q;
}

}  // namespace

core::Status PromoteReplica(const PgEndpoint& replica, milliseconds timeout) {
  auto conn = Connect(replica.dsn, replica.password, timeout, true);
  if (!conn.ok()) return conn.status();
  const long long secs = std::max<long long>(1, timeout.count() / 1000);
  auto promoted = Query(
      conn->get(), "SELECT pg_promote(wait => true, wait_seconds => " + std::to_string(secs) + ")");
  if (!promoted.ok()) return promoted.status();
  if (*promoted != "t") {
    return core::Status::Timeout("pg_promote did not finish within " + std::to_string(secs) + "s");
  }
  auto check = Connect(replica.dsn, replica.password, timeout, true);
  if (!check.ok())
    return core::Status::Unavailable("verify after promotion: " + check.status().message());
  auto in_recovery = Query(check->get(), "SELECT pg_is_in_recovery()");
  if (!in_recovery.ok()) return in_recovery.status();
  if (*in_recovery != "f") return core::Status::IOError("still in recovery after pg_promote");
  return core::Status::OK();
}

std::string RewriteConninfo(const std::string& conninfo, const std::string& host,
                            const std::string& port) {
  // Tokenise key = value pairs, values possibly single-quoted.
  std::vector<std::pair<std::string, std::string>> pairs;
  size_t i = 0;
  const size_t n = conninfo.size();
  auto skip = [&] {
    while (i < n && (conninfo[i] == ' ' || conninfo[i] == '\t')) ++i;
  };
  while (true) {
    skip();
    if (i >= n) break;
    size_t k = i;
    while (i < n && conninfo[i] != '=' && conninfo[i] != ' ') ++i;
    std::string key = conninfo.substr(k, i - k);
    skip();
    if (i < n && conninfo[i] == '=') ++i;
    skip();
    std::string value;
    if (i < n && conninfo[i] == '\'') {
      ++i;
      while (i < n && conninfo[i] != '\'') {
        if (conninfo[i] == '\\' && i + 1 < n) ++i;
        value.push_back(conninfo[i++]);
      }
      ++i;
    } else {
      while (i < n && conninfo[i] != ' ' && conninfo[i] != '\t') value.push_back(conninfo[i++]);
    }
    pairs.emplace_back(std::move(key), std::move(value));
  }
  bool have_host = false, have_port = false;
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& [k, v] : pairs) {
    if (k == "hostaddr") continue;  // would override host
    if (k == "host") {
      v = host;
      have_host = true;
    }
    if (k == "port") {
      v = port;
      have_port = true;
    }
    out.emplace_back(k, v);
  }
  if (!have_host) out.emplace_back("host", host);
  if (!have_port) out.emplace_back("port", port);
  std::string text;
  for (const auto& [k, v] : out) {
    const bool plain = !v.empty() && v.find_first_of(" '\\\t") == std::string::npos;
    if (!text.empty()) text += ' ';
    text += k + "=" + (plain ? v : Quote(v, '\''));
  }
  return text;
}

std::string UriToKeywords(const std::string& conninfo) {
  if (conninfo.rfind("postgresql://", 0) != 0 && conninfo.rfind("postgres://", 0) != 0) {
    return conninfo;
  }
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (err) PQfreemem(err);
  if (!opts) return conninfo;
  std::string out;
  for (auto* o = opts; o->keyword; ++o) {
    if (!o->val) continue;
    const std::string v = o->val;
    const bool plain = !v.empty() && v.find_first_of(" '\\\t") == std::string::npos;
    if (!out.empty()) out += ' ';
    out += std::string(o->keyword) + "=" + (plain ? v : Quote(v, '\''));
  }
  PQconninfoFree(opts);
  return out;
}

core::Status RepointReplica(const PgEndpoint& replica, const std::string& primary_host,
                            const std::string& primary_port, milliseconds timeout) {
  auto conn = Connect(replica.dsn, replica.password, timeout, true);
  if (!conn.ok()) return conn.status();
  auto current = Query(conn->get(), "SHOW primary_conninfo");
  if (!current.ok()) return current.status();
  const std::string next = RewriteConninfo(UriToKeywords(*current), primary_host, primary_port);
  char* quoted = PQescapeLiteral(conn->get(), next.c_str(), next.size());
  if (!quoted)
    return core::Status::IOError("escape: " + std::string(core::Trim(PQerrorMessage(conn->get()))));
  const std::string sql = std::string("ALTER SYSTEM SET primary_conninfo = ") + quoted;
  PQfreemem(quoted);
  if (auto r = Query(conn->get(), sql); !r.ok()) return r.status();
  if (auto r = Query(conn->get(), "SELECT pg_reload_conf()"); !r.ok()) return r.status();
  return core::Status::OK();
}

std::string RewriteDatabasesFile(const std::string& text, const std::string& host,
                                 const std::string& port, const std::vector<std::string>& databases,
                                 int* changed) {
  std::istringstream in(text);
  std::string out, line;
  bool in_databases = true;  // an include file may hold entries without a section header
  int count = 0;
  while (std::getline(in, line)) {
    const std::string t(core::Trim(line));
    if (!t.empty() && t.front() == '[') {
      in_databases = t == "[databases]";
    } else if (in_databases && !t.empty() && t.front() != ';' && t.front() != '#') {
      const auto eq = t.find('=');
      if (eq != std::string::npos) {
        std::string name(core::Trim(std::string_view(t).substr(0, eq)));
        if (databases.empty() ||
            std::find(databases.begin(), databases.end(), name) != databases.end()) {
          const std::string rewritten =
              name + " = " +
              RewriteConninfo(std::string(core::Trim(std::string_view(t).substr(eq + 1))), host,
                              port);
          if (rewritten != t) ++count;
          line = rewritten;
        }
      }
    }
    out += line + "\n";
  }
  if (changed) *changed = count;
  return out;
}

core::Status RedirectPooler(const PoolerEndpoint& pooler, const std::string& host,
                            const std::string& port, milliseconds timeout) {
  if (!pooler.databases_file.empty()) {
    auto text = core::ReadFile(pooler.databases_file);
    if (!text.ok()) return text.status();
    int changed = 0;
    const std::string next = RewriteDatabasesFile(*text, host, port, pooler.databases, &changed);
    if (next != *text) {
      if (core::Status st = core::WriteFileAtomic(pooler.databases_file, next); !st.ok()) return st;
    }
  }
  auto conn = Connect(pooler.admin_dsn, pooler.password, timeout, false);
  if (!conn.ok())
    return core::Status::Unavailable("pgbouncer " + pooler.name + ": " + conn.status().message());
  if (auto r = Query(conn->get(), "RELOAD"); !r.ok()) return r.status();
  if (pooler.reconnect) {
    if (auto r = Query(conn->get(), "RECONNECT"); !r.ok()) return r.status();
  }
  return core::Status::OK();
}

core::Status RunCommand(const std::vector<std::string>& argv,
                        const std::map<std::string, std::string>& env, milliseconds timeout,
                        std::string* output) {
  core::ProcessOptions options;
  options.argv = argv;
  options.env = env;
  options.timeout = timeout;
  core::Result<core::ProcessResult> run = core::RunProcess(options);
  if (!run.ok()) return run.status();
  if (output) *output = run->out + run->err;
  if (run->exit_code == 0) return core::Status::OK();
  return core::Status::IOError(core::DescribeExit(options, *run));
}

std::pair<std::string, std::string> SplitHostPort(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return {address, "5432"};
  return {address.substr(0, colon), address.substr(colon + 1)};
}

std::string LabelsJson(const std::map<std::string, std::string>& labels) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  return j.dump();
}

}  // namespace pgdr::actions

#include "pgdr/actions/providers.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "pgdr/collect/pg_handle.h"
#include "pgdr/core/files.h"
#include "pgdr/core/strings.h"

extern char** environ;

namespace pgdr::actions {

namespace {

using std::chrono::milliseconds;

// A libpq error message without its trailing newline.
std::string PgError(const PGconn* conn) { return std::string(core::Trim(PQerrorMessage(conn))); }

// A blocking connection with a connect timeout; `server_options` empty for
// PgBouncer's admin console (which refuses the options parameter).
core::Result<collect::PgConnPtr> Connect(const std::string& dsn, const std::string& password,
                                         milliseconds timeout, bool with_statement_timeout) {
  const std::string connect_timeout =
      std::to_string(std::max<long long>(2, (timeout.count() + 999) / 1000));
  const std::string options = "-c statement_timeout=" + std::to_string(timeout.count() + 5000);
  std::vector<const char*> keys = {"dbname", "connect_timeout", "application_name"};
  std::vector<const char*> values = {dsn.c_str(), connect_timeout.c_str(), "pgdr_actions"};
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
  collect::PgConnPtr conn(PQconnectdbParams(keys.data(), values.data(), 1));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    return core::Status::Unavailable("connect: " +
                                     (conn ? PgError(conn.get()) : std::string("no memory")));
  }
  return conn;
}

// Runs one query; returns the first cell of the first row ("" when none).
core::Result<std::string> Query(PGconn* conn, const std::string& sql) {
  collect::PgResultPtr res(PQexec(conn, sql.c_str()));
  const auto st = PQresultStatus(res.get());
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    return core::Status::IOError(sql.substr(0, sql.find(' ')) + ": " + PgError(conn));
  }
  if (st == PGRES_TUPLES_OK && PQntuples(res.get()) > 0 && PQnfields(res.get()) > 0) {
    return std::string(PQgetvalue(res.get(), 0, 0));
  }
  return std::string();
}

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
  if (!quoted) return core::Status::IOError("escape: " + PgError(conn->get()));
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
      const std::string tmp = pooler.databases_file + ".pgdr-tmp";
      {
        std::ofstream f(tmp, std::ios::trunc);
        f << next;
        f.flush();
        if (!f) return core::Status::IOError("write " + tmp);
      }
      // Keep the original's mode and (when permitted) owner: PgBouncer must read it.
      struct stat st {};
      if (stat(pooler.databases_file.c_str(), &st) == 0) {
        chmod(tmp.c_str(), st.st_mode & 07777);
        (void)!chown(tmp.c_str(), st.st_uid, st.st_gid);
      }
      if (std::rename(tmp.c_str(), pooler.databases_file.c_str()) != 0) {
        return core::Status::IOError("rename " + tmp + " to " + pooler.databases_file);
      }
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
                        const std::map<std::string, std::string>& env, milliseconds timeout) {
  if (argv.empty()) return core::Status::InvalidArgument("empty command");
  std::map<std::string, std::string> merged;
  for (char** e = environ; e && *e; ++e) {
    const std::string kv = *e;
    const auto eq = kv.find('=');
    if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : env) merged[k] = v;
  std::vector<std::string> env_strings;
  env_strings.reserve(merged.size());
  for (const auto& [k, v] : merged) env_strings.push_back(std::string(k).append("=").append(v));
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &files, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return core::Status::IOError("spawn " + argv[0] + ": " + std::strerror(rc));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int wstatus = 0;
  while (true) {
    const pid_t w = waitpid(pid, &wstatus, WNOHANG);
    if (w == pid) break;
    if (w < 0) return core::Status::IOError("waitpid: " + std::string(std::strerror(errno)));
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(-pid, SIGKILL);
      waitpid(pid, &wstatus, 0);
      return core::Status::Timeout(argv[0] + " killed after " + std::to_string(timeout.count()) +
                                   "ms");
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) return core::Status::OK();
  if (WIFEXITED(wstatus)) {
    return core::Status::IOError(argv[0] + " exited with status " +
                                 std::to_string(WEXITSTATUS(wstatus)));
  }
  return core::Status::IOError(argv[0] + " killed by signal " + std::to_string(WTERMSIG(wstatus)));
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

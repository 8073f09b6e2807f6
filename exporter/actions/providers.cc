#include "pgdr/actions/providers.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "actions/pg_session.h"
#include "pgdr/collect/pg_handle.h"
#include "pgdr/core/files.h"
#include "pgdr/core/strings.h"

extern char** environ;

namespace pgdr::actions {

namespace {

using std::chrono::milliseconds;

// What RunCommand keeps of a command's output: enough for pg_rewind's and
// pg_ctl's messages, bounded against a chatty command.
constexpr size_t kMaxCommandOutput = 64 * 1024;

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
  // With `output`, stdout and stderr go to a pipe read while waiting (a
  // full pipe would block the child); its ends are closed by the RAII
  // owner on every path.
  std::array<core::UniqueFd, 2> pipe_ends;
  if (output) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
      return core::Status::IOError("pipe: " + std::string(std::strerror(errno)));
    pipe_ends[0] = core::UniqueFd(fds[0]);
    pipe_ends[1] = core::UniqueFd(fds[1]);
    posix_spawn_file_actions_adddup2(&files, fds[1], 1);
    posix_spawn_file_actions_adddup2(&files, fds[1], 2);
  }
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &files, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return core::Status::IOError("spawn " + argv[0] + ": " + std::strerror(rc));
  pipe_ends[1] = core::UniqueFd();
  if (output) fcntl(pipe_ends[0].get(), F_SETFL, O_NONBLOCK);
  const auto drain = [&] {
    char buf[4096];
    ssize_t n = 0;
    while (output && (n = read(pipe_ends[0].get(), buf, sizeof buf)) > 0) {
      if (output->size() < kMaxCommandOutput) output->append(buf, static_cast<size_t>(n));
    }
  };
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int wstatus = 0;
  while (true) {
    const pid_t w = waitpid(pid, &wstatus, WNOHANG);
    if (w == pid) break;
    if (w < 0) return core::Status::IOError("waitpid: " + std::string(std::strerror(errno)));
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(-pid, SIGKILL);
      waitpid(pid, &wstatus, 0);
      drain();
      return core::Status::Timeout(argv[0] + " killed after " + std::to_string(timeout.count()) +
                                   "ms");
    }
    if (output) {
      pollfd fd{pipe_ends[0].get(), POLLIN, 0};
      (void)poll(&fd, 1, 20);
      drain();
    } else {
      std::this_thread::sleep_for(milliseconds(20));
    }
  }
  drain();
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

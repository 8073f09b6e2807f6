#include "actions/local_server.h"

#include <sys/stat.h>

#include <cstdio>
#include <sstream>

#include "pgdr/actions/providers.h"
#include "pgdr/core/files.h"
#include "pgdr/core/strings.h"

namespace pgdr::actions {

using std::chrono::milliseconds;

namespace {

std::string Seconds(milliseconds t) {
  return std::to_string(std::max<long long>(1, (t.count() + 999) / 1000));
}

// The lines of a tool's output worth showing: its errors when it wrote
// some, else its last line.
std::string Reason(const std::string& output) {
  std::istringstream in(output);
  std::string line, errors, last;
  while (std::getline(in, line)) {
    const std::string t(core::Trim(line));
    if (t.empty()) continue;
    last = t;
    if (t.find("error") != std::string::npos || t.find("FATAL") != std::string::npos ||
        t.find("fatal") != std::string::npos) {
      errors += (errors.empty() ? "" : "; ") + t;
    }
  }
  return errors.empty() ? last : errors;
}

bool FileExists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

// Whether a postgresql.auto.conf line sets `name` (`name = value`, any case,
// spaces allowed before the '=').
bool Sets(const std::string& line, std::string_view name) {
  const std::string_view t = core::Trim(line);
  if (t.size() <= name.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(t[i])) != name[i]) return false;
  }
  const std::string_view rest = core::Trim(t.substr(name.size()));
  return !rest.empty() && rest.front() == '=';
}

}  // namespace

std::optional<uint64_t> ParseLsn(const std::string& text) {
  unsigned int hi = 0, lo = 0;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%X/%X%c", &hi, &lo, &extra) != 2) return std::nullopt;
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

LocalServer::LocalServer(config::ServerControl control) : control_(std::move(control)) {
  if (control_.log_file.empty()) control_.log_file = control_.data_dir + "/pgdr_pg_ctl.log";
  // postmaster.opts: the binary, then its arguments as the shell quoted
  // them; pg_ctl passes -o through the shell too.
  if (auto opts = core::ReadFile(control_.data_dir + "/postmaster.opts"); opts.ok()) {
    const std::string line(core::Trim(*opts));
    const auto space = line.find(' ');
    if (space != std::string::npos) start_options_ = line.substr(space + 1);
  }
}

std::string LocalServer::Tool(const std::string& name) const {
  return control_.bin_dir.empty() ? name : control_.bin_dir + "/" + name;
}

core::Result<std::string> LocalServer::RunTool(
    const std::vector<std::string>& argv, milliseconds timeout,
    const std::map<std::string, std::string>& env) const {
  std::string output;
  const core::Status st = RunCommand(argv, env, timeout, &output);
  if (!st.ok()) {
    const std::string why = Reason(output);
    const std::string msg = st.message() + (why.empty() ? "" : ": " + why);
    return st.code() == core::Status::Code::kTimeout ? core::Status::Timeout(msg)
                                                     : core::Status::IOError(msg);
  }
  return output;
}

core::Result<bool> LocalServer::Running(milliseconds timeout) const {
  if (!FileExists(control_.data_dir + "/PG_VERSION")) {
    return core::Status::NotFound(control_.data_dir + " is not a PostgreSQL data directory");
  }
  // pg_ctl status exits 0 when a server runs, 3 when none does.
  auto out = RunTool({Tool("pg_ctl"), "status", "-D", control_.data_dir}, timeout);
  if (out.ok()) return true;
  if (out.status().message().find("exited with status 3") != std::string::npos) return false;
  return out.status();
}

core::Status LocalServer::Stop(milliseconds timeout) const {
  auto out = RunTool(
      {Tool("pg_ctl"), "stop", "-D", control_.data_dir, "-m", "fast", "-w", "-t", Seconds(timeout)},
      timeout + std::chrono::seconds(5));
  return out.ok() ? core::Status::OK() : out.status();
}

core::Status LocalServer::Start(milliseconds timeout) const {
  std::vector<std::string> argv = {Tool("pg_ctl"),    "start", "-D", control_.data_dir, "-l",
                                   control_.log_file, "-w",    "-t", Seconds(timeout)};
  if (!start_options_.empty()) {
    argv.push_back("-o");
    argv.push_back(start_options_);
  }
  auto out = RunTool(argv, timeout + std::chrono::seconds(5));
  return out.ok() ? core::Status::OK() : out.status();
}

core::Result<ControlData> LocalServer::ReadControlData(milliseconds timeout) const {
  auto out = RunTool({Tool("pg_controldata"), "-D", control_.data_dir}, timeout);
  if (!out.ok()) return out.status();
  ControlData cd;
  std::istringstream in(*out);
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key(core::Trim(line.substr(0, colon)));
    const std::string value(core::Trim(line.substr(colon + 1)));
    if (key == "Database cluster state") cd.state = value;
    if (key == "Latest checkpoint location") cd.checkpoint_lsn = value;
    if (key == "Latest checkpoint's TimeLineID") cd.timeline = value;
  }
  if (cd.state.empty() || !ParseLsn(cd.checkpoint_lsn)) {
    return core::Status::Corruption("pg_controldata -D " + control_.data_dir +
                                    ": no cluster state or checkpoint location in its output");
  }
  return cd;
}

core::Result<RewindResult> LocalServer::Rewind(const std::string& source_dsn,
                                               const std::string& password,
                                               milliseconds timeout) const {
  std::map<std::string, std::string> env;
  if (!password.empty()) env["PGPASSWORD"] = password;  // never on the command line
  auto out = RunTool(
      {Tool("pg_rewind"), "--target-pgdata=" + control_.data_dir, "--source-server=" + source_dsn},
      timeout, env);
  if (!out.ok()) return out.status();
  RewindResult r;
  std::istringstream in(*out);
  std::string line;
  while (std::getline(in, line)) {
    const std::string t(core::Trim(line));
    if (t.find("servers diverged at") != std::string::npos) {
      r.rewound = true;
      r.detail = t.substr(t.find("servers diverged at"));
    } else if (t.find("no rewind required") != std::string::npos) {
      r.detail = "no rewind required";
    }
  }
  if (r.detail.empty()) r.detail = Reason(*out);
  return r;
}

core::Status LocalServer::WriteStandbyConfig(const std::string& primary_conninfo) const {
  const std::string auto_conf = control_.data_dir + "/postgresql.auto.conf";
  std::string text;
  if (auto current = core::ReadFile(auto_conf); current.ok()) {
    std::istringstream in(*current);
    std::string line;
    while (std::getline(in, line)) {
      if (!Sets(line, "primary_conninfo")) text += line + "\n";
    }
  }
  std::string quoted = "'";
  for (char c : primary_conninfo) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  text += "primary_conninfo = " + quoted + "'\n";
  if (core::Status st = core::WriteFileAtomic(auto_conf, text); !st.ok()) return st;
  std::remove((control_.data_dir + "/recovery.signal").c_str());
  if (core::Status st = core::WriteFileAtomic(control_.data_dir + "/standby.signal", "");
      !st.ok()) {
    return st;
  }
  return core::Status::OK();
}

}  // namespace pgdr::actions

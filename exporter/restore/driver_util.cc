#include "restore/driver_util.h"

#include <unistd.h>

#include <fstream>

namespace pgdr::restore {

std::vector<std::string> AsUser(const std::string& run_as, std::vector<std::string> argv) {
  if (run_as.empty() || geteuid() != 0) return argv;
  std::vector<std::string> wrapped = {"runuser", "-u", run_as, "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

core::Result<std::unique_ptr<RestoreDriver>> MakeRestoreDriver(const store::StoreSettings& store) {
  if (store.layout == "barman-cloud") return MakeBarmanCloudDriver(store);
  if (store.layout == "pgbackrest") return MakePgBackRestDriver(store);
  if (store.layout == "pg_dump") return MakePgDumpDriver(store);
  return core::Status::Unsupported(
      "store \"" + store.name + "\": layout " + store.layout +
      " cannot be restored by pgdr (barman-cloud, pgbackrest and pg_dump can)");
}

std::string ShellQuote(std::string_view word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string PostgresTime(std::string_view rfc3339) {
  std::string text(rfc3339);
  if (text.ends_with('Z') || text.ends_with('z')) text.replace(text.size() - 1, 1, "+00");
  return text;
}

std::string ConfQuote(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

core::Status AppendAutoConf(const std::string& data_dir, const std::string& lines) {
  const std::string path = data_dir + "/postgresql.auto.conf";
  std::ofstream f(path, std::ios::app);
  f << "\n# pgdr restore\n" << lines;
  f.flush();
  if (!f) return core::Status::IOError("cannot append to " + path);
  return core::Status::OK();
}

core::Status TouchFile(const std::string& path) {
  std::ofstream f(path, std::ios::app);
  if (!f) return core::Status::IOError("cannot create " + path);
  return core::Status::OK();
}

core::Status RunTool(std::string_view step, std::vector<std::string> argv,
                     const std::map<std::string, std::string>& env, milliseconds timeout,
                     const std::atomic<bool>* cancel) {
  core::ProcessOptions options;
  options.argv = std::move(argv);
  options.env = env;
  options.timeout = timeout;
  options.cancel = cancel;
  core::Result<core::ProcessResult> run = core::RunProcess(options);
  if (!run.ok()) {
    std::string message = std::string(step) + ": " + run.status().message();
    if (run.status().code() == core::Status::Code::kTimeout) return core::Status::Timeout(message);
    return core::Status::IOError(message);
  }
  if (run->exit_code == 0) return core::Status::OK();
  return core::Status::IOError(std::string(step) + ": " + core::DescribeExit(options, *run));
}

core::Result<std::map<std::string, std::string>> S3Environment(const store::StoreOptions& options) {
  std::map<std::string, std::string> env;
  struct Var {
    const store::SecretSource* source;
    const char* name;
    bool required;
  };
  for (const Var& v : {Var{&options.access_key_id, "AWS_ACCESS_KEY_ID", true},
                       Var{&options.secret_access_key, "AWS_SECRET_ACCESS_KEY", true},
                       Var{&options.session_token, "AWS_SESSION_TOKEN", false}}) {
    core::Result<std::string> secret = store::ReadSecret(*v.source, v.name);
    if (secret.ok()) {
      env[v.name] = *secret;
    } else if (v.required) {
      return core::Status::InvalidArgument(std::string(store::kErrCredentials) + ": " + v.name +
                                           ": " + secret.status().message());
    }
  }
  env["AWS_DEFAULT_REGION"] = options.region;
  if (!options.ca_file.empty()) env["AWS_CA_BUNDLE"] = options.ca_file;
  return env;
}

}  // namespace pgdr::restore

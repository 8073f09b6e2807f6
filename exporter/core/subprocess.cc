#include "pgdr/core/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

extern char** environ;

namespace pgdr::core {
namespace {

using Clock = std::chrono::steady_clock;

// Owns a file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read, write;
};

Status MakePipe(Pipe& p) {
  std::array<int, 2> fds{};
  if (pipe2(fds.data(), O_CLOEXEC) != 0) return Status::IOError(std::strerror(errno));
  p.read = Fd(fds[0]);
  p.write = Fd(fds[1]);
  return Status::OK();
}

void AppendTail(std::string& into, const char* data, size_t n, size_t cap) {
  into.append(data, n);
  if (into.size() > 2 * cap) into.erase(0, into.size() - cap);
}

std::vector<std::string> MergedEnvironment(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : extra) merged[k] = v;
  std::vector<std::string> out;
  out.reserve(merged.size());
  for (const auto& [k, v] : merged) out.push_back(k + "=" + v);
  return out;
}

bool Cancelled(const ProcessOptions& options) {
  return options.cancel != nullptr && options.cancel->load();
}

}  // namespace

Result<ProcessResult> RunProcess(const ProcessOptions& options) {
  if (options.argv.empty()) return Status::InvalidArgument("empty command");
  const std::string& program = options.argv[0];
  Pipe out, err;
  if (Status s = MakePipe(err); !s.ok()) return Status::IOError("pipe: " + s.message());
  Fd out_file;
  if (options.stdout_path.empty()) {
    if (Status s = MakePipe(out); !s.ok()) return Status::IOError("pipe: " + s.message());
  } else {
    out_file =
        Fd(open(options.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (out_file.get() < 0) {
      return Status::IOError("open " + options.stdout_path + ": " + std::strerror(errno));
    }
  }
  std::vector<std::string> env_strings = MergedEnvironment(options.env);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = options.argv;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&files, out_file.get() >= 0 ? out_file.get() : out.write.get(),
                                   1);
  posix_spawn_file_actions_adddup2(&files, err.write.get(), 2);
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&files, options.cwd.c_str());
  pid_t pid = 0;
  const Clock::time_point started = Clock::now();
  const int rc = posix_spawnp(&pid, program.c_str(), &files, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::IOError("cannot start " + program + ": " + std::strerror(rc));
  out.write.Reset();
  err.write.Reset();
  out_file.Reset();

  const Clock::time_point deadline = started + options.timeout;
  ProcessResult result;
  bool timed_out = false;
  std::array<char, 8192> buffer{};
  // Read both pipes until they close, then reap the child.
  while (out.read.get() >= 0 || err.read.get() >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || Cancelled(options)) {
      timed_out = true;
      break;
    }
    std::array<pollfd, 2> fds{pollfd{out.read.get(), POLLIN, 0}, pollfd{err.read.get(), POLLIN, 0}};
    int ready =
        poll(fds.data(), fds.size(), static_cast<int>(std::min<long long>(left.count(), 200)));
    if (ready < 0 && errno != EINTR) break;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      ssize_t n = read(fds[i].fd, buffer.data(), buffer.size());
      if (n > 0) {
        AppendTail(i == 0 ? result.out : result.err, buffer.data(), static_cast<size_t>(n),
                   options.capture_bytes);
      } else if (n == 0 || errno != EINTR) {
        (i == 0 ? out.read : err.read).Reset();
      }
    }
  }
  int wstatus = 0;
  while (!timed_out) {
    pid_t w = waitpid(pid, &wstatus, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR)
      return Status::IOError("waitpid: " + std::string(std::strerror(errno)));
    if (Clock::now() >= deadline || Cancelled(options)) {
      timed_out = true;
      break;
    }
    poll(nullptr, 0, 20);
  }
  if (timed_out) {
    kill(-pid, SIGKILL);
    waitpid(pid, &wstatus, 0);
    if (Cancelled(options)) return Status::Unavailable(program + " cancelled");
    return Status::Timeout(program + " killed after " + std::to_string(options.timeout.count()) +
                           "ms");
  }
  for (std::string* s : {&result.out, &result.err}) {
    if (s->size() > options.capture_bytes) s->erase(0, s->size() - options.capture_bytes);
  }
  result.exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return result;
}

std::string DescribeExit(const ProcessOptions& options, const ProcessResult& result) {
  // Name the tool, not the wrapper that switched users for it.
  auto tool = options.argv.begin();
  if (tool != options.argv.end() && *tool == "runuser") {
    auto dashes = std::find(tool, options.argv.end(), "--");
    if (dashes != options.argv.end() && dashes + 1 != options.argv.end()) tool = dashes + 1;
  }
  std::string text = tool == options.argv.end() ? "(none)" : *tool;
  text += result.exit_code >= 128 ? " killed by signal " + std::to_string(result.exit_code - 128)
                                  : " exited with status " + std::to_string(result.exit_code);
  std::string_view err = result.err;
  while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.remove_suffix(1);
  size_t nl = err.rfind('\n');
  if (nl != std::string_view::npos) err.remove_prefix(nl + 1);
  if (!err.empty()) text += ": " + std::string(err);
  return text;
}

}  // namespace pgdr::core

#include "app/web_config_watcher.h"

#include <sys/stat.h>

#include "pgdr/core/log.h"
#include "pgdr/http/web_config.h"

namespace pgdr::app {
namespace {

std::string Stamp(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return path + ":missing;";
  return path + ":" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) +
         ":" + std::to_string(st.st_size) + ";";
}

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string WebConfigWatcher::Fingerprint() const {
  std::vector<std::string> files;
  {
    const core::MutexLock lock(mu_);
    files = named_files_;
  }
  std::string out = Stamp(path_);
  for (const auto& f : files) out += Stamp(f);
  return out;
}

core::Status WebConfigWatcher::Apply() {
  auto web = http::LoadWebConfig(path_);
  core::Status s = web.ok() ? server_.SetWebConfig(*web) : web.status();
  if (!s.ok()) {
    failures_.fetch_add(1);
    core::Log(core::LogLevel::kError, "web config refused; keeping the running one",
              {{"file", path_}, {"err", s.message()}});
    return s;
  }
  std::vector<std::string> files;
  if (web->tls) {
    files = {web->tls->cert_file, web->tls->key_file};
    if (!web->tls->client_ca_file.empty()) files.push_back(web->tls->client_ca_file);
  }
  {
    const core::MutexLock lock(mu_);
    named_files_ = std::move(files);
  }
  last_success_ = NowSeconds();
  core::Log(core::LogLevel::kInfo, "web config loaded",
            {{"file", path_},
             {"tls", web->tls ? "on" : "off"},
             {"basic_auth_users", std::to_string(web->users.size())}});
  return core::Status::OK();
}

core::Status WebConfigWatcher::Load() { return Apply(); }

void WebConfigWatcher::Start() {
  thread_ = std::thread([this] { Run(); });
}

void WebConfigWatcher::Poke() {
  {
    const core::MutexLock lock(mu_);
    poked_ = true;
  }
  cv_.notify_all();
}

void WebConfigWatcher::Stop() {
  {
    const core::MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WebConfigWatcher::Run() {
  std::string seen = Fingerprint();
  while (true) {
    bool poked = false;
    {
      core::MutexLock lock(mu_);
      const auto until = std::chrono::steady_clock::now() + kPoll;
      while (!stopping_ && !poked_) {
        if (cv_.wait_until(lock, until) == std::cv_status::timeout) break;
      }
      if (stopping_) return;
      poked = poked_;
      poked_ = false;
    }
    const std::string now = Fingerprint();
    if (!poked && now == seen) continue;
    // A file half-written is refused and retried at the next change.
    (void)Apply();
    seen = Fingerprint();
  }
}

}  // namespace pgdr::app

// Keeps the HTTP server's web config in step with --web.config.file.
//
// Load() reads it before the server starts (an invalid file is fatal then).
// Afterwards it is re-read on Poke() (SIGHUP and POST /-/reload) and
// whenever the modification time or size of the file, or of a certificate,
// key or CA file it names, changes (polled every kPoll): a rotated
// certificate takes effect without a restart. An invalid file is refused,
// logged and counted, and the running one kept.
//
// The reload runs on the watcher's own thread, never on an HTTP worker:
// turning TLS on or off restarts the listeners, which waits for the workers.
//
// Thread-safety: Poke() and the counters from any thread; Load, Start and
// Stop from the thread owning the exporter.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <string>
#include <thread>

#include "pgdr/core/mutex.h"
#include "pgdr/core/status.h"
#include "pgdr/http/server.h"

namespace pgdr::app {

class WebConfigWatcher {
 public:
  static constexpr std::chrono::seconds kPoll{3};

  // `server` must outlive the watcher.
  WebConfigWatcher(std::string path, http::HttpServer& server)
      : path_(std::move(path)), server_(server) {}
  ~WebConfigWatcher() { Stop(); }
  WebConfigWatcher(const WebConfigWatcher&) = delete;
  WebConfigWatcher& operator=(const WebConfigWatcher&) = delete;

  core::Status Load() PGDR_EXCLUDES(mu_);
  void Start();
  void Poke() PGDR_EXCLUDES(mu_);
  void Stop() PGDR_EXCLUDES(mu_);

  double reload_failures() const { return failures_.load(); }
  double last_success_seconds() const { return last_success_.load(); }

 private:
  // Reads, validates and applies the file; on failure the server keeps the old one.
  core::Status Apply() PGDR_EXCLUDES(mu_);
  void Run() PGDR_EXCLUDES(mu_);
  // Modification times and sizes of the file and the files it names.
  std::string Fingerprint() const PGDR_EXCLUDES(mu_);

  const std::string path_;
  http::HttpServer& server_;
  std::thread thread_;
  std::atomic<double> failures_{0};
  std::atomic<double> last_success_{0};

  mutable core::Mutex mu_;
  std::condition_variable_any cv_;
  std::vector<std::string> named_files_ PGDR_GUARDED_BY(mu_);  // of the running config
  bool poked_ PGDR_GUARDED_BY(mu_) = false;
  bool stopping_ PGDR_GUARDED_BY(mu_) = false;
};

}  // namespace pgdr::app

// Exporter: the running service. It owns the threads and wires the modules:
//
//   collection thread (CollectionLoop) ──► results ──► composer thread
//   store thread (backup monitors)     ──► polls   ──►   │ ComposeSnapshot
//                                                        ▼
//   HTTP workers ◄── SnapshotStore (immutable, latest) ◄─┤ AppendScrape
//                                                        ▼
//   evaluator thread: RuleManager::Tick (local TSDB) ──► ActionEngine::OnAlerts
//                     (notifiers, guarded failover, redirects, on their own threads)
//
// Reload (SIGHUP or POST /-/reload) loads the new config first; if it is
// invalid the old one keeps running and the error is returned and logged.
//
// Thread-safety: Start/Stop/Reload from the main thread or HTTP workers;
// internally synchronised.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "app/sharding.h"
#include "pgdr/core/status.h"
#include "pgdr/tsdb/tsdb.h"

namespace pgdr::app {

struct ExporterOptions {
  std::string config_file;
  std::string listen_address = ":9688";
  std::string telemetry_path = "/metrics";
  // Where users reach pgdr (--web.external-url): $externalURL in rule
  // templates (the shipped runbook_url is $externalURL/runbooks/<AlertName>)
  // and alerts' generatorURL. Empty: DefaultExternalUrl(listen_address).
  std::string external_url;
  std::string version;
  // The evaluator's in-memory series buffer (--storage.tsdb.retention.time).
  tsdb::Options tsdb;
  // Mutating endpoints, off by default as in Prometheus: POST /-/reload
  // (--web.enable-lifecycle) and non-GET /api/v1 calls such as
  // maintenance windows and approvals (--web.enable-admin-api).
  bool enable_lifecycle = false;
  bool enable_admin_api = false;
  // The part of the fleet this replica collects (--shard.index/--shard.total).
  Shard shard;
  // "<cluster>/<member>" the un-prefixed health checks (/primary, /replica,
  // /read-only, /health) answer for (--web.member); empty: the only member.
  std::string web_member;
  // --web.config.file (exporter-toolkit format: TLS, basic auth, headers);
  // empty: plain HTTP without authentication.
  std::string web_config_file;
  // Where the state file lives (--storage.path, default "data/"; see
  // app/state_file.h). Empty: nothing is kept across a restart.
  std::string storage_path = "data/";
  // When start-up pages are given back (--memory.release-startup-pages-after,
  // app/startup_pages.h); zero: never. Used by Serve, not by the Exporter.
  std::chrono::milliseconds release_startup_pages_after{std::chrono::seconds(15)};
};

// "http://<host>:<port>" of a listen address, as Prometheus derives its
// default external URL: the host as given, the machine's host name when the
// address names none (":9688", "0.0.0.0:9688", "[::]:9688").
std::string DefaultExternalUrl(const std::string& listen_address);

class Exporter {
 public:
  explicit Exporter(ExporterOptions options);
  ~Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  // Loads the config, starts collection and the HTTP server.
  core::Status Start();
  core::Status Reload();
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pgdr::app

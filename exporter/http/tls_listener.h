// pgdr's own TLS termination, in front of civetweb.
//
// Why: Debian 12's civetweb 1.15 resolves SSL_get_peer_certificate from the
// libssl it dlopens, a symbol OpenSSL 3 no longer exports (it became a macro
// of SSL_get1_peer_certificate), and its worker calls the null pointer on
// the first TLS connection. So pgdr terminates TLS with the libssl it links
// and hands civetweb plain HTTP on a private listener (127.0.0.1, an
// ephemeral port; Debian's build has no unix domain sockets). Every request
// head is rewritten on the way (request_rewriter.h): the relay's own headers
// are stripped from client input and added fresh, a per-process random
// token and the client's address; civetweb's handler answers 403 to any
// request on that listener without the token, so a local user cannot reach
// it past the client-certificate check.
//
// Threads: one accept thread; one thread per connection (at most
// kMaxConnections; more are closed at once and counted), each relaying
// between its TLS socket and its own upstream connection with one poll()
// (connected once the first request head is complete).
// Bounds: the handshake must finish in kHandshakeTimeout, a request head in
// kHeadTimeout, and a connection idle (no byte either way) for kIdleTimeout
// is closed.
//
// Reload: SetContext swaps the SSL_CTX for new connections; connections
// already open keep theirs (each SSL holds a reference to its context).
//
// Thread-safety: SetContext and the counters from any thread; Start and
// Stop from one owner thread.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <list>
#include <memory>
#include <string>
#include <thread>

#include "http/tls_context.h"
#include "pgdr/core/mutex.h"
#include "pgdr/core/status.h"

namespace pgdr::http {

class TlsListener {
 public:
  static constexpr int kMaxConnections = 64;
  static constexpr std::chrono::seconds kHandshakeTimeout{10};
  static constexpr std::chrono::seconds kHeadTimeout{30};
  static constexpr std::chrono::seconds kIdleTimeout{60};
  static constexpr const char* kTokenHeader = "X-Pgdr-Relay-Token";
  static constexpr const char* kClientHeader = "X-Pgdr-Client";

  // Kept by the owner: they outlive a listener replaced by a reload.
  struct Counters {
    std::atomic<double> handshake_failures{0};  // failed or timed out
    std::atomic<double> rejected{0};            // over kMaxConnections
  };

  // `token`: the value of kTokenHeader added to every request; `counters`
  // must outlive the listener.
  TlsListener(SslCtx ctx, std::string token, size_t max_body_bytes, Counters& counters);
  ~TlsListener();
  TlsListener(const TlsListener&) = delete;
  TlsListener& operator=(const TlsListener&) = delete;

  // Binds `host` ("" = every IPv4 interface, "[::1]" or "127.0.0.1") and
  // `port` (0: any) and relays to 127.0.0.1:`upstream_port`.
  core::Status Start(const std::string& host, int port, int upstream_port);
  // Closes the listener and every connection, and joins their threads.
  void Stop() PGDR_EXCLUDES(mu_);
  void SetContext(SslCtx ctx) PGDR_EXCLUDES(mu_);
  int port() const { return port_; }

 private:
  struct Connection {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void AcceptLoop() PGDR_EXCLUDES(mu_);
  void Serve(int fd, std::string client) PGDR_EXCLUDES(mu_);
  // Relays until either side ends; returns when the connection should close.
  void Relay(SSL* ssl, int client_fd, const std::string& client);
  void Reap(bool all) PGDR_EXCLUDES(mu_);

  const std::string token_;
  const size_t max_body_bytes_;
  Counters& counters_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;  // eventfd: readable once Stop() began
  int port_ = 0;
  int upstream_port_ = 0;
  std::thread accept_thread_;
  core::Mutex mu_;
  SslCtx ctx_ PGDR_GUARDED_BY(mu_);
  std::list<std::unique_ptr<Connection>> connections_ PGDR_GUARDED_BY(mu_);
};

}  // namespace pgdr::http

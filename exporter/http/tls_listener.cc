#include "http/tls_listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "http/request_rewriter.h"
#include "pgdr/core/log.h"

namespace pgdr::http {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kBufferBytes = size_t{64} * 1024;  // per direction, per connection
constexpr int kWriteChunk = 16 * 1024;

struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset(int fd) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

std::string OpenSslReason() {
  const unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e == 0) return "connection closed during the handshake";
  const char* reason = ERR_reason_error_string(e);
  return reason != nullptr ? reason : "OpenSSL error " + std::to_string(e);
}

std::string PeerAddress(const sockaddr_storage& sa) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (sa.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&sa);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&sa);
  inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
  port = ntohs(in6->sin6_port);
  // Appended, not "[" + std::string: GCC 12's -Wrestrict false positive at -O3 (bug 105329).
  std::string out = "[";
  out += host;
  out += "]:";
  out += std::to_string(port);
  return out;
}

const char* Phrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 501:
      return "Not Implemented";
    default:
      return "Error";
  }
}

std::string ErrorResponse(int status, const std::string& reason) {
  const std::string body = reason + "\n";
  return "HTTP/1.1 " + std::to_string(status) + " " + Phrase(status) +
         "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

// Waits for `events` on `fd` (and `events2` on `fd2`, if any) until
// `deadline`; false on timeout, error or once `stop_fd` is readable.
bool Wait(int stop_fd, int fd, short events, int fd2, short events2, Clock::time_point deadline) {
  // An fd with no events is left out: its hang-up would wake us for nothing.
  pollfd fds[3] = {{stop_fd, POLLIN, 0},
                   {events != 0 ? fd : -1, events, 0},
                   {events2 != 0 ? fd2 : -1, events2, 0}};
  const nfds_t n = fd2 >= 0 ? 3 : 2;
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    const int r = poll(fds, n, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    return (fds[0].revents & POLLIN) == 0;
  }
}

// After a refused handshake: the alert OpenSSL wrote would be lost if
// close() found unread client data (the kernel then sends a reset, and the
// client sees "connection reset" instead of "certificate required"). So
// half-close, and discard what the client still sends for up to a second.
void Linger(int fd) {
  shutdown(fd, SHUT_WR);
  const auto until = Clock::now() + std::chrono::seconds(1);
  char buf[4096];
  size_t drained = 0;
  while (drained < kBufferBytes) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) return;
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return;
    drained += static_cast<size_t>(n);
  }
}

void NoDelay(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// A non-blocking connection to civetweb's private listener, or -1.
int ConnectUpstream(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    core::Log(core::LogLevel::kError, "TLS relay: cannot reach the HTTP server",
              {{"port", std::to_string(port)}, {"err", std::strerror(errno)}});
    if (fd >= 0) close(fd);
    return -1;
  }
  NoDelay(fd);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

}  // namespace

TlsListener::TlsListener(SslCtx ctx, std::string token, size_t max_body_bytes, Counters& counters)
    : token_(std::move(token)),
      max_body_bytes_(max_body_bytes),
      counters_(counters),
      ctx_(std::move(ctx)) {}

TlsListener::~TlsListener() { Stop(); }

core::Status TlsListener::Start(const std::string& host, int port, int upstream_port) {
  upstream_port_ = upstream_port;
  std::string name = host;
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') {
    name = name.substr(1, name.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = name.empty() ? AF_INET : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int e = getaddrinfo(name.empty() ? nullptr : name.c_str(), service.c_str(), &hints, &found);
      e != 0) {
    return core::Status::InvalidArgument(host + ": " + gai_strerror(e));
  }
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  const bool bound = fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
                     bind(fd, found->ai_addr, found->ai_addrlen) == 0 && listen(fd, 128) == 0;
  const int err = errno;
  freeaddrinfo(found);
  if (!bound) {
    if (fd >= 0) close(fd);
    return core::Status::Unavailable(std::string("TLS listener: ") + std::strerror(err));
  }
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  port_ = ntohs(sa.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&sa)->sin_port
                                        : reinterpret_cast<sockaddr_in6*>(&sa)->sin6_port);
  listen_fd_ = fd;
  stop_fd_ = eventfd(0, EFD_CLOEXEC);
  accept_thread_ = std::thread([this] { AcceptLoop(); });
  return core::Status::OK();
}

void TlsListener::Stop() {
  if (!accept_thread_.joinable()) return;
  const uint64_t one = 1;
  (void)!write(stop_fd_, &one, sizeof one);
  accept_thread_.join();
  Reap(true);
  close(listen_fd_);
  close(stop_fd_);
  listen_fd_ = stop_fd_ = -1;
}

void TlsListener::SetContext(SslCtx ctx) {
  const core::MutexLock lock(mu_);
  ctx_ = std::move(ctx);
}

void TlsListener::Reap(bool all) {
  std::list<std::unique_ptr<Connection>> finished;
  {
    const core::MutexLock lock(mu_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      auto next = std::next(it);
      if (all || (*it)->done.load()) finished.splice(finished.end(), connections_, it);
      it = next;
    }
  }
  for (auto& c : finished) c->thread.join();
}

void TlsListener::AcceptLoop() {
  while (true) {
    pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    const int r = poll(fds, 2, 1000);
    if (fds[0].revents & POLLIN) return;
    Reap(false);
    if (r <= 0 || (fds[1].revents & POLLIN) == 0) continue;
    sockaddr_storage sa{};
    socklen_t len = sizeof sa;
    const int fd =
        accept4(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::string client = PeerAddress(sa);
    size_t open = 0;
    {
      const core::MutexLock lock(mu_);
      open = connections_.size();
    }
    if (open >= static_cast<size_t>(kMaxConnections)) {
      close(fd);
      counters_.rejected.fetch_add(1);
      core::Log(core::LogLevel::kDebug, "TLS listener: too many connections; closed",
                {{"client", client}, {"max", std::to_string(kMaxConnections)}});
      continue;
    }
    auto c = std::make_unique<Connection>();
    Connection* raw = c.get();
    raw->thread = std::thread([this, raw, fd, client] {
      Serve(fd, client);
      raw->done.store(true);
    });
    const core::MutexLock lock(mu_);
    connections_.push_back(std::move(c));
  }
}

void TlsListener::Serve(int fd, std::string client) {
  const Fd client_fd(fd);
  NoDelay(fd);
  std::unique_ptr<SSL, SslFree> ssl;
  {
    const core::MutexLock lock(mu_);
    ssl.reset(SSL_new(ctx_.get()));
  }
  if (!ssl) return;
  SSL_set_fd(ssl.get(), fd);
  SSL_set_mode(ssl.get(), SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
  ERR_clear_error();
  const auto handshake_deadline = Clock::now() + kHandshakeTimeout;
  while (true) {
    const int r = SSL_accept(ssl.get());
    if (r == 1) break;
    const int e = SSL_get_error(ssl.get(), r);
    const bool again = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
    if (again && Wait(stop_fd_, fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, -1, 0,
                      handshake_deadline)) {
      continue;
    }
    counters_.handshake_failures.fetch_add(1);
    core::Log(core::LogLevel::kDebug, "TLS handshake failed",
              {{"client", client},
               {"err", again ? std::string("timed out or stopped") : OpenSslReason()}});
    Linger(fd);
    return;
  }
  Relay(ssl.get(), fd, client);
  ERR_clear_error();
  SSL_shutdown(ssl.get());  // best effort: one non-blocking close_notify
}

void TlsListener::Relay(SSL* ssl, int client_fd, const std::string& client) {
  RequestRewriter rewriter(
      std::string(kTokenHeader) + ": " + token_ + "\r\n" + kClientHeader + ": " + client + "\r\n",
      {kTokenHeader, kClientHeader}, max_body_bytes_);
  // Connected when the first request head is complete: a client that
  // handshakes and then idles or trickles holds no civetweb worker.
  Fd upstream;
  std::string to_upstream;  // rewritten request bytes
  std::string to_client;    // civetweb's answers
  int write_len = 0;        // an SSL_write to repeat with the same length
  bool client_eof = false;
  bool upstream_eof = false;
  bool upstream_shut = false;
  bool refused = false;
  char buf[16 * 1024];
  auto last_progress = Clock::now();
  bool in_head = false;  // since head_since
  Clock::time_point head_since;
  while (true) {
    bool progress = false;
    short client_events = 0;
    short upstream_events = 0;
    ERR_clear_error();
    if (!client_eof && !refused && to_upstream.size() < kBufferBytes) {
      const int n = SSL_read(ssl, buf, sizeof buf);
      if (n > 0) {
        progress = true;
        if (!rewriter.Feed(std::string_view(buf, static_cast<size_t>(n)), to_upstream)) {
          refused = true;
          core::Log(core::LogLevel::kDebug, "TLS relay: request refused",
                    {{"client", client},
                     {"status", std::to_string(rewriter.error_status())},
                     {"reason", rewriter.error_reason()}});
        }
      } else {
        const int e = SSL_get_error(ssl, n);
        if (e == SSL_ERROR_WANT_READ) {
          client_events |= POLLIN;
        } else if (e == SSL_ERROR_WANT_WRITE) {
          client_events |= POLLOUT;
        } else {
          client_eof = true;
          progress = true;
        }
      }
    }
    if (upstream.get() < 0 && !to_upstream.empty()) {
      upstream.reset(ConnectUpstream(upstream_port_));
      if (upstream.get() < 0) return;
    }
    const int upstream_fd = upstream.get();
    if (!to_upstream.empty()) {
      const ssize_t n = send(upstream_fd, to_upstream.data(), to_upstream.size(), MSG_NOSIGNAL);
      if (n > 0) {
        to_upstream.erase(0, static_cast<size_t>(n));
        progress = true;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        upstream_events |= POLLOUT;
      } else {
        return;
      }
    }
    if ((client_eof || refused) && to_upstream.empty() && !upstream_shut) {
      upstream_shut = true;
      if (upstream_fd >= 0) {
        shutdown(upstream_fd, SHUT_WR);  // civetweb answers what it has, then closes
      } else {
        upstream_eof = true;  // nothing was forwarded
        if (refused) to_client += ErrorResponse(rewriter.error_status(), rewriter.error_reason());
      }
    }
    if (upstream_fd >= 0 && !upstream_eof && to_client.size() < kBufferBytes) {
      const ssize_t n = read(upstream_fd, buf, sizeof buf);
      if (n > 0) {
        to_client.append(buf, static_cast<size_t>(n));
        progress = true;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        upstream_events |= POLLIN;
      } else {
        upstream_eof = true;
        progress = true;
        if (refused) to_client += ErrorResponse(rewriter.error_status(), rewriter.error_reason());
      }
    }
    if (!to_client.empty()) {
      if (write_len == 0)
        write_len = static_cast<int>(std::min<size_t>(to_client.size(), kWriteChunk));
      const int n = SSL_write(ssl, to_client.data(), write_len);
      if (n > 0) {
        to_client.erase(0, static_cast<size_t>(n));
        write_len = 0;
        progress = true;
      } else {
        const int e = SSL_get_error(ssl, n);
        if (e == SSL_ERROR_WANT_WRITE) {
          client_events |= POLLOUT;
        } else if (e == SSL_ERROR_WANT_READ) {
          client_events |= POLLIN;
        } else {
          return;
        }
      }
    }
    if (upstream_eof && to_client.empty()) return;
    const auto now = Clock::now();
    if (rewriter.in_head() && !in_head) head_since = now;
    in_head = rewriter.in_head();
    if (progress) {
      last_progress = now;
      continue;
    }
    auto deadline = last_progress + kIdleTimeout;
    if (in_head) deadline = std::min(deadline, head_since + kHeadTimeout);
    if (!Wait(stop_fd_, client_fd, client_events, upstream_fd, upstream_events, deadline)) {
      return;
    }
  }
}

}  // namespace pgdr::http

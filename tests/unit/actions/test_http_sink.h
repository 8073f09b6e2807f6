// A scripted local HTTP server for the notifier tests: records every raw request
// (head and body) and answers with the next scripted status (200 when the script is
// exhausted). Loopback only; one connection at a time.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pgdr::actions {

class TestHttpSink {
 public:
  // Answers the i-th request with statuses[i] (then 200) and bodies[i] (then none).
  explicit TestHttpSink(std::deque<int> statuses = {}, std::deque<std::string> bodies = {})
      : statuses_(std::move(statuses)), bodies_(std::move(bodies)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(fd_, 16);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TestHttpSink() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string url(const std::string& path = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  bool WaitFor(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (requests().size() >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

 private:
  void Serve() {
    while (!stop_) {
      const int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string data;
      char buf[4096];
      size_t want = std::string::npos;
      while (true) {
        const ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        data.append(buf, static_cast<size_t>(n));
        const auto head = data.find("\r\n\r\n");
        if (head != std::string::npos && want == std::string::npos) {
          const auto cl = data.find("Content-Length: ");
          want = head + 4 + (cl == std::string::npos ? 0 : std::stoul(data.substr(cl + 16)));
        }
        if (want != std::string::npos && data.size() >= want) break;
      }
      int status = 200;
      std::string body;
      {
        std::lock_guard lock(mu_);
        requests_.push_back(data);
        if (!statuses_.empty()) {
          status = statuses_.front();
          statuses_.pop_front();
        }
        if (!bodies_.empty()) {
          body = std::move(bodies_.front());
          bodies_.pop_front();
        }
      }
      const std::string resp = "HTTP/1.1 " + std::to_string(status) +
                               " X\r\nContent-Length: " + std::to_string(body.size()) +
                               "\r\nConnection: close\r\n\r\n" + body;
      (void)!write(c, resp.data(), resp.size());
      close(c);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::deque<int> statuses_;
  std::deque<std::string> bodies_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

}  // namespace pgdr::actions

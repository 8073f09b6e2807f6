// LeaderElector against a scripted LeaseBackend: acquisition, renewal,
// fencing by lease time and release, measured on the real steady clock with
// short intervals.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "pgdr/leader/leader_election.h"

namespace pgdr::leader {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

struct Script {
  std::atomic<bool> free{true};         // TryAcquire succeeds
  std::atomic<bool> renew_ok{true};     // Renew answers the TTL
  std::atomic<bool> renew_gone{false};  // Renew answers NotFound
  std::atomic<int> renews{0};
  std::atomic<int> releases{0};
  milliseconds ttl{600};
};

class FakeBackend : public LeaseBackend {
 public:
  explicit FakeBackend(Script* s) : s_(s) {}
  core::Result<Attempt> TryAcquire() override {
    Attempt a;
    if (s_->free) {
      a.acquired = true;
      a.ttl = s_->ttl;
    } else {
      a.holder = "other";
    }
    return a;
  }
  core::Result<milliseconds> Renew() override {
    s_->renews += 1;
    if (s_->renew_gone) return core::Status::NotFound("gone");
    if (!s_->renew_ok) return core::Status::Unavailable("etcd down");
    return s_->ttl;
  }
  void Release() override { s_->releases += 1; }
  std::string backend() const override { return "fake"; }
  std::string lock() const override { return "/test"; }

 private:
  Script* s_;
};

double Metric(const LeaderElector& e, const std::string& name) {
  core::MetricSet m;
  e.CollectMetrics(m);
  const auto& f = m.families().at(name);
  return core::SampleValue(f, f.metric.at(0));
}

bool WaitFor(const std::function<bool()>& p, milliseconds timeout) {
  const auto until = SteadyClock::now() + timeout;
  while (SteadyClock::now() < until) {
    if (p()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return p();
}

ElectorTiming Timing() {
  return {.renew_interval = 100ms, .retry_interval = 50ms, .fencing_margin = 200ms};
}

TEST(LeaderElectorTest, NotHolderNeverActs) {
  Script s;
  s.free = false;
  LeaderElector e(std::make_unique<FakeBackend>(&s), Timing(), "me");
  e.Start();
  std::this_thread::sleep_for(150ms);
  std::string why;
  EXPECT_FALSE(e.MayAct(&why));
  EXPECT_EQ(why, "the lease is held by other");
  EXPECT_EQ(Metric(e, "pgdr_leader"), 0);
  EXPECT_EQ(Metric(e, "pgdr_leader_acquisitions_total"), 0);
  e.Stop();
  EXPECT_EQ(s.releases, 0);  // nothing held, nothing released
}

TEST(LeaderElectorTest, HolderRenewsAndReleasesOnStop) {
  Script s;
  LeaderElector e(std::make_unique<FakeBackend>(&s), Timing(), "me");
  e.Start();
  ASSERT_TRUE(WaitFor([&] { return e.MayAct(nullptr); }, 1s));
  // Held across several TTLs: renewals keep it.
  std::this_thread::sleep_for(3 * s.ttl);
  EXPECT_TRUE(e.MayAct(nullptr));
  EXPECT_GE(s.renews, 10);
  EXPECT_EQ(Metric(e, "pgdr_leader"), 1);
  EXPECT_EQ(Metric(e, "pgdr_leader_acquisitions_total"), 1);
  EXPECT_EQ(Metric(e, "pgdr_leader_losses_total"), 0);
  e.Stop();
  EXPECT_EQ(s.releases, 1);
  EXPECT_FALSE(e.MayAct(nullptr));
}

TEST(LeaderElectorTest, FencedBeforeTheLeaseCanExpire) {
  Script s;
  s.ttl = 1000ms;
  LeaderElector e(std::make_unique<FakeBackend>(&s), Timing(), "me");
  e.Start();
  ASSERT_TRUE(WaitFor([&] { return e.MayAct(nullptr); }, 1s));
  s.free = false;  // once lost, the lease is someone else's
  s.renew_ok = false;
  // The last renewal that succeeded was sent at most renew_interval ago, so
  // the store keeps the lease until at least now + ttl - renew_interval; this
  // replica must stop acting by now + ttl - margin (800 ms), before that.
  const auto cut = SteadyClock::now();
  ASSERT_TRUE(WaitFor([&] { return !e.MayAct(nullptr); }, 2s));
  const auto stopped = SteadyClock::now() - cut;
  EXPECT_LE(stopped, s.ttl - Timing().fencing_margin + 100ms);  // polling slack on a loaded host
  EXPECT_GE(stopped, s.ttl - Timing().fencing_margin - Timing().renew_interval - 20ms);
  ASSERT_TRUE(WaitFor([&] { return Metric(e, "pgdr_leader_losses_total") == 1; }, 1s));
  EXPECT_GE(Metric(e, "pgdr_leader_keepalive_failures_total"), 1);
  EXPECT_EQ(Metric(e, "pgdr_leader"), 0);
  std::string why;
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(e.MayAct(&why));
  EXPECT_EQ(why, "the lease is held by other");
  e.Stop();
}

TEST(LeaderElectorTest, ALeaseGoneFromTheStoreStopsActingAtOnce) {
  Script s;
  s.ttl = 5000ms;
  LeaderElector e(std::make_unique<FakeBackend>(&s), Timing(), "me");
  e.Start();
  ASSERT_TRUE(WaitFor([&] { return e.MayAct(nullptr); }, 1s));
  s.free = false;
  s.renew_gone = true;
  ASSERT_TRUE(WaitFor([&] { return !e.MayAct(nullptr); }, 500ms));
  EXPECT_EQ(Metric(e, "pgdr_leader_losses_total"), 1);
  e.Stop();
}

}  // namespace
}  // namespace pgdr::leader

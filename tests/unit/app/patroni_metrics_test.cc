// pgdr_patroni_* from Patroni 3.0.2's own answers (bodies captured from the
// Debian package's REST API in tests/integration/patroni_support.py's cluster).
#include "app/patroni_metrics.h"

#include <gtest/gtest.h>

#include <map>

namespace pgdr::app {
namespace {

constexpr char kCluster[] =
    R"({"members": [{"name": "pat-1", "role": "leader", "state": "running",)"
    R"( "api_url": "http://127.0.0.1:47875/patroni", "host": "127.0.0.1", "port": 52277,)"
    R"( "timeline": 1}, {"name": "pat-2", "role": "replica", "state": "running",)"
    R"( "api_url": "http://127.0.0.1:42753/patroni", "host": "127.0.0.1", "port": 45753,)"
    R"( "timeline": 1, "lag": 4096, "pending_restart": true}, {"name": "pat-3", "role": "replica",)"
    R"( "state": "stopped", "api_url": "http://127.0.0.1:35271/patroni", "host": "127.0.0.1",)"
    R"( "port": 58675, "timeline": 1, "lag": "unknown"}], "pause": true})";

constexpr char kLeader[] =
    R"({"state": "running", "role": "master", "server_version": 150018,)"
    R"( "xlog": {"location": 83886080}, "timeline": 1, "dcs_last_seen": 1796281708,)"
    R"( "database_system_identifier": "7714971112461869122",)"
    R"( "patroni": {"version": "3.0.2", "scope": "pat"}})";

// name{label=value,...} -> value, labels in the order they were added.
std::map<std::string, double> Flatten(core::MetricSet& set) {
  std::map<std::string, double> out;
  for (const auto& f : set.Take()) {
    for (const auto& m : f.metric) {
      std::string key = f.name + "{";
      for (const auto& l : m.label) key += l.name + "=" + l.value + ",";
      out[key + "}"] = m.gauge.value;
    }
  }
  return out;
}

TEST(PatroniMetrics, ClusterAndMemberSeriesFromRealAnswers) {
  core::MetricSet set;
  AddPatroniMetrics("pat",
                    {{"http://127.0.0.1:47875", kLeader}, {"http://127.0.0.1:42753", std::nullopt}},
                    kCluster, set);
  const auto m = Flatten(set);
  const std::map<std::string, double> want{
      {"pgdr_patroni_up{cluster=pat,url=http://127.0.0.1:47875,}", 1},
      {"pgdr_patroni_up{cluster=pat,url=http://127.0.0.1:42753,}", 0},
      {"pgdr_patroni_dcs_last_seen_timestamp_seconds{cluster=pat,member=pat-1,}", 1796281708},
      {"pgdr_patroni_failsafe_active{cluster=pat,member=pat-1,}", 0},
      {"pgdr_patroni_wal_position_bytes{cluster=pat,member=pat-1,}", 83886080},
      {"pgdr_patroni_paused{cluster=pat,}", 1},
      {"pgdr_patroni_members{cluster=pat,}", 3},
      {"pgdr_patroni_role{cluster=pat,member=pat-1,role=leader,}", 1},
      {"pgdr_patroni_role{cluster=pat,member=pat-2,role=replica,}", 1},
      {"pgdr_patroni_role{cluster=pat,member=pat-3,role=replica,}", 1},
      {"pgdr_patroni_state{cluster=pat,member=pat-1,state=running,}", 1},
      {"pgdr_patroni_state{cluster=pat,member=pat-2,state=running,}", 1},
      {"pgdr_patroni_state{cluster=pat,member=pat-3,state=stopped,}", 1},
      {"pgdr_patroni_timeline{cluster=pat,member=pat-1,}", 1},
      {"pgdr_patroni_timeline{cluster=pat,member=pat-2,}", 1},
      {"pgdr_patroni_timeline{cluster=pat,member=pat-3,}", 1},
      {"pgdr_patroni_replication_lag_bytes{cluster=pat,member=pat-2,}", 4096},
      {"pgdr_patroni_pending_restart{cluster=pat,member=pat-1,}", 0},
      {"pgdr_patroni_pending_restart{cluster=pat,member=pat-2,}", 1},
      {"pgdr_patroni_pending_restart{cluster=pat,member=pat-3,}", 0},
  };
  EXPECT_EQ(m, want);
}

TEST(PatroniMetrics, NotPatroniJsonIsDownAndNoClusterMeansNoClusterSeries) {
  core::MetricSet set;
  AddPatroniMetrics("pat", {{"http://h:8008", "<html>proxy error</html>"}}, std::nullopt, set);
  const std::map<std::string, double> want{{"pgdr_patroni_up{cluster=pat,url=http://h:8008,}", 0}};
  EXPECT_EQ(Flatten(set), want);
}

}  // namespace
}  // namespace pgdr::app

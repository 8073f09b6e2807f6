// The state file codec and its atomic write (app/state_file.h).
#include "app/state_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "pgdr/core/files.h"

namespace pgdr::app {
namespace {

PersistedState Sample() {
  PersistedState s;
  s.maintenance = {{"prod", 1'800'000'000'000, "rolling upgrade"}, {"", 1'800'000'060'000, "all"}};
  s.last_failover_ms = {{"prod", 1'799'999'000'000}};
  s.primaries = {{"prod", {"prod-1", 83'886'080.0, 1'799'999'400'000, ""}},
                 {"never-seen-lsn", {"x-1", std::nullopt, 0, ""}}};
  s.regions = {{"prod", "b", {"prod-1", 83'886'080.0, 1'799'999'400'000, "a"}, 0}};
  s.alerts = {{"pg",
               "PostgresPrimaryMissing",
               {{"alertname", "PostgresPrimaryMissing"}, {"cluster", "prod"}},
               1'799'999'500'000}};
  return s;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/pgdr-state-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(StateFile, RoundTrip) {
  const auto decoded = DecodeState(EncodeState(Sample()));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(*decoded, Sample());
  EXPECT_EQ(decoded->maintenance[0].reason, "rolling upgrade");
  EXPECT_EQ(decoded->alerts[0].active_at_ms, 1'799'999'500'000);
}

// Files written before "primaries" and "regions" existed still load.
TEST(StateFile, FirstVersionOneFilesLoad) {
  const auto decoded =
      DecodeState(R"({"version":1,"maintenance":[],"last_failover_ms":{"a":5},"alerts":[]})");
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->last_failover_ms.at("a"), 5);
  EXPECT_TRUE(decoded->primaries.empty());
  EXPECT_TRUE(decoded->regions.empty());
}

TEST(StateFile, BadPrimaryIsCorruption) {
  const auto decoded = DecodeState(
      R"({"version":1,"primaries":{"prod":{"member":"p","seen_ms":1,"lsn_bytes":"x"}}})");
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().message(),
            "the primary of \"prod\" needs member, seen_ms and a numeric lsn_bytes when present");
}

TEST(StateFile, EmptyStateRoundTrips) {
  const auto decoded = DecodeState(EncodeState(PersistedState{}));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, PersistedState{});
}

TEST(StateFile, TruncatedIsCorruption) {
  const std::string text = EncodeState(Sample());
  const auto decoded = DecodeState(text.substr(0, text.size() / 2));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), core::Status::Code::kCorruption);
  EXPECT_EQ(decoded.status().message(), "not valid JSON (truncated?)");
}

TEST(StateFile, WrongVersionIsRefused) {
  const auto decoded = DecodeState(R"({"version":2,"maintenance":[]})");
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().message(), "version 2, this pgdr reads version 1");
  EXPECT_EQ(DecodeState(R"({"maintenance":[]})").status().message(), "no \"version\"");
}

TEST(StateFile, WrongTypesAreCorruptionNotExceptions) {
  EXPECT_EQ(DecodeState("[1,2]").status().message(), "not a JSON object");
  EXPECT_EQ(DecodeState(R"({"version":1,"maintenance":{}})").status().message(),
            "\"maintenance\" is not an array");
  EXPECT_EQ(DecodeState(R"({"version":1,"maintenance":[{"cluster":"a","until_ms":"x",)"
                        R"("reason":""}]})")
                .status()
                .message(),
            "a maintenance window needs cluster, until_ms and reason");
  EXPECT_EQ(DecodeState(R"({"version":1,"last_failover_ms":{"a":1.5}})").status().message(),
            "last_failover_ms of \"a\" is not an integer");
  EXPECT_EQ(DecodeState(R"({"version":1,"alerts":[{"group":"g","rule":"r",)"
                        R"("labels":{"a":1},"active_at_ms":1}]})")
                .status()
                .message(),
            "alert label \"a\" is not a string");
  EXPECT_EQ(DecodeState(std::string("\0\xff\x01", 3)).status().code(),
            core::Status::Code::kCorruption);
}

TEST(StateFile, SaveCreatesTheDirectoryAndLoadReadsItBack) {
  const TempDir tmp;
  const std::string dir = tmp.path() + "/data";
  EXPECT_EQ(LoadStateFile(dir).status().code(), core::Status::Code::kNotFound);
  ASSERT_TRUE(SaveStateFile(dir, Sample()).ok());
  const auto loaded = LoadStateFile(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(*loaded, Sample());
  EXPECT_FALSE(std::filesystem::exists(dir + "/state.json.tmp"));
  PersistedState changed = Sample();
  changed.maintenance.clear();
  ASSERT_TRUE(SaveStateFile(dir, changed).ok());
  EXPECT_EQ(*LoadStateFile(dir), changed);
}

TEST(StateFile, CorruptFileNamesThePathAndTheReason) {
  const TempDir tmp;
  std::ofstream(tmp.path() + "/state.json") << "{\"version\":1,\"maint";
  const auto loaded = LoadStateFile(tmp.path());
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), core::Status::Code::kCorruption);
  EXPECT_EQ(loaded.status().message(), tmp.path() + "/state.json: not valid JSON (truncated?)");
}

}  // namespace
}  // namespace pgdr::app

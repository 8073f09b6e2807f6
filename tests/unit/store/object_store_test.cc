// ListAfter's hierarchy walk, used for stores without a server-side
// start-after (Azure), over an in-memory store.
#include "pgdr/store/object_store.h"

#include <gtest/gtest.h>

#include <set>

namespace pgdr::store {
namespace {

// Lists like S3 with a delimiter would, but ignores start_after.
class MemoryStore final : public ObjectStore {
 public:
  explicit MemoryStore(std::set<std::string> keys) : keys_(std::move(keys)) {}

  core::Status List(const ListOptions& options, const ListVisitor& visit) override {
    std::set<std::string> prefixes;
    std::vector<ObjectInfo> entries;
    for (const std::string& key : keys_) {
      if (!key.starts_with(options.prefix)) continue;
      size_t slash = key.find('/', options.prefix.size());
      if (options.delimited && slash != std::string::npos) {
        prefixes.insert(key.substr(0, slash + 1));
      } else {
        entries.push_back({key, 1, 0, false});
      }
    }
    for (const std::string& p : prefixes) entries.push_back({p, 0, 0, true});
    std::sort(entries.begin(), entries.end(),
              [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    for (const ObjectInfo& e : entries) {
      ++stats_.objects_listed;
      if (core::Status s = visit(e); !s.ok()) return s;
    }
    return core::Status::OK();
  }
  core::Result<std::string> Read(std::string_view, size_t) override {
    return core::Status::NotFound("x");
  }
  Capabilities capabilities() const override { return {false}; }
  const std::string& description() const override { return description_; }

 private:
  std::set<std::string> keys_;
  std::string description_ = "memory://";
};

std::vector<std::string> Collect(ObjectStore& store, const std::string& prefix,
                                 const std::string& start_after) {
  std::vector<std::string> keys;
  core::Status s = ListAfter(store, {prefix, start_after, false}, [&](const ObjectInfo& info) {
    keys.push_back(info.key);
    return core::Status::OK();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return keys;
}

TEST(ListAfterWalkTest, ResumesAfterCursorAcrossDirectories) {
  std::set<std::string> keys;
  for (int d = 0; d < 50; ++d) {
    for (int f = 0; f < 20; ++f) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "w/%02d/%02d", d, f);
      keys.insert(buf);
    }
  }
  keys.insert("w/00000002.history");
  keys.insert("x/other");
  MemoryStore store(keys);
  EXPECT_EQ(Collect(store, "w/", "").size(), 1001u);
  store.stats().objects_listed = 0;
  EXPECT_EQ(Collect(store, "w/", "w/48/19"),
            (std::vector<std::string>{"w/49/00", "w/49/01", "w/49/02", "w/49/03", "w/49/04",
                                      "w/49/05", "w/49/06", "w/49/07", "w/49/08", "w/49/09",
                                      "w/49/10", "w/49/11", "w/49/12", "w/49/13", "w/49/14",
                                      "w/49/15", "w/49/16", "w/49/17", "w/49/18", "w/49/19"}));
  // One level of 51 names, the cursor's directory (20) and the next (20).
  EXPECT_LE(store.stats().objects_listed, 51u + 20u + 20u);
  EXPECT_TRUE(Collect(store, "w/", "w/49/19").empty());
  // "w/00/..." sorts before "w/00000002.history" ('/' < '0'): only w/01.. follow it.
  EXPECT_EQ(Collect(store, "w/", "w/00000002.history").size(), 49u * 20u);
}

TEST(ListAfterWalkTest, VisitorErrorStops) {
  MemoryStore store({"a/1", "a/2", "b/1"});
  int seen = 0;
  core::Status s = ListAfter(store, {"", "a/1", false}, [&](const ObjectInfo&) {
    return ++seen == 1 ? core::Status::OK() : core::Status::Timeout("deadline");
  });
  EXPECT_EQ(s.code(), core::Status::Code::kTimeout);
  EXPECT_EQ(seen, 2);
}

}  // namespace
}  // namespace pgdr::store

namespace pgdr::store {
namespace {

TEST(MakeObjectStoreTest, UrlsAndDescriptions) {
  StoreOptions options;
  options.url = "gs://walg-bucket/pg/main/";
  auto gcs = MakeObjectStore(options);
  ASSERT_TRUE(gcs.ok()) << gcs.status().ToString();
  EXPECT_EQ((*gcs)->description(), "gs://walg-bucket/pg/main");
  EXPECT_TRUE((*gcs)->capabilities().native_start_after);
  options.url = "s3://bucket";
  auto s3 = MakeObjectStore(options);
  ASSERT_TRUE(s3.ok());
  EXPECT_EQ((*s3)->description(), "s3://bucket");
  options.url = "azure://container/prefix";
  options.account_name = "acct";
  auto azure = MakeObjectStore(options);
  ASSERT_TRUE(azure.ok());
  EXPECT_FALSE((*azure)->capabilities().native_start_after);

  for (const char* bad :
       {"s3://", "s3:///prefix", "file://relative/dir", "ftp://host/x", "gs://"}) {
    options.url = bad;
    EXPECT_FALSE(MakeObjectStore(options).ok()) << bad;
  }
  options.url = "s3://bucket/p";
  options.endpoint = "ftp://host";
  EXPECT_FALSE(MakeObjectStore(options).ok());
}

TEST(ReadSecretTest, FileThenEnvThenStandard) {
  ::setenv("PGDR_TEST_SECRET", "from-env", 1);
  ::setenv("PGDR_TEST_STANDARD", "from-standard", 1);
  EXPECT_EQ(*ReadSecret({"PGDR_TEST_SECRET", ""}, "PGDR_TEST_STANDARD"), "from-env");
  EXPECT_EQ(*ReadSecret({}, "PGDR_TEST_STANDARD"), "from-standard");
  std::string file = testing::TempDir() + "/pgdr_secret";
  {
    FILE* f = std::fopen(file.c_str(), "w");
    std::fputs("from-file\n", f);
    std::fclose(f);
  }
  EXPECT_EQ(*ReadSecret({"PGDR_TEST_SECRET", file}, "PGDR_TEST_STANDARD"), "from-file");
  auto missing = ReadSecret({"PGDR_TEST_UNSET_VARIABLE", ""}, "PGDR_TEST_STANDARD");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("PGDR_TEST_UNSET_VARIABLE"), std::string::npos);
  EXPECT_EQ(missing.status().message().find("from-"), std::string::npos);  // never the value
  std::remove(file.c_str());
}

}  // namespace
}  // namespace pgdr::store

// Connection-string and PgBouncer databases-file rewriting, and user commands.
#include "pgdr/actions/providers.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace pgdr::actions {
namespace {

using std::chrono::milliseconds;

TEST(RewriteConninfo, ReplacesHostAndPortKeepsTheRest) {
  EXPECT_EQ(RewriteConninfo("user=postgres passfile='/var/lib/x y/.pgpass' host=10.0.0.1 "
                            "port=5432 application_name=r2",
                            "127.0.0.1", "6000"),
            "user=postgres passfile='/var/lib/x y/.pgpass' host=127.0.0.1 port=6000 "
            "application_name=r2");
  EXPECT_EQ(RewriteConninfo("hostaddr=10.0.0.1 dbname=app", "db2", "5433"),
            "dbname=app host=db2 port=5433");
  EXPECT_EQ(RewriteConninfo("", "h", "1"), "host=h port=1");
  EXPECT_EQ(RewriteConninfo(R"(password='it\'s' host = a)", "b", "2"),
            R"(password='it\'s' host=b port=2)");
}

TEST(RewriteConninfo, UriPrimaryConninfo) {
  const std::string kw = UriToKeywords("postgresql://repl@10.0.0.1:5432/?application_name=r2");
  EXPECT_EQ(RewriteConninfo(kw, "127.0.0.1", "6000"),
            "user=repl host=127.0.0.1 port=6000 application_name=r2");
  EXPECT_EQ(UriToKeywords("host=a port=1"), "host=a port=1");
}

TEST(RewriteDatabasesFile, RewritesEntriesKeepsComments) {
  const std::string in =
      "; pgdr manages this file\n"
      "[databases]\n"
      "app = host=10.0.0.1 port=5432 dbname=app pool_size=20\n"
      "reports = host=10.0.0.9 port=5432 dbname=reports\n"
      "[pgbouncer]\n"
      "listen_port = 6432\n";
  int changed = 0;
  const std::string out = RewriteDatabasesFile(in, "127.0.0.1", "6001", {"app"}, &changed);
  EXPECT_EQ(changed, 1);
  EXPECT_EQ(out,
            "; pgdr manages this file\n"
            "[databases]\n"
            "app = host=127.0.0.1 port=6001 dbname=app pool_size=20\n"
            "reports = host=10.0.0.9 port=5432 dbname=reports\n"
            "[pgbouncer]\n"
            "listen_port = 6432\n");
  const std::string all = RewriteDatabasesFile(in, "h", "1", {}, &changed);
  EXPECT_EQ(changed, 2);
  EXPECT_NE(all.find("reports = host=h port=1 dbname=reports"), std::string::npos);
  EXPECT_NE(all.find("listen_port = 6432"), std::string::npos);
  // An include file without a section header holds entries too.
  EXPECT_EQ(RewriteDatabasesFile("postgres = host=127.0.0.1 port=1 dbname=postgres\n", "127.0.0.1",
                                 "2", {}, &changed),
            "postgres = host=127.0.0.1 port=2 dbname=postgres\n");
}

TEST(RedirectPooler, FailsCleanlyWhenTheConsoleIsDown) {
  char path[] = "/tmp/pgdr-databases-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "postgres = host=127.0.0.1 port=1 dbname=postgres\n";
  PoolerEndpoint p{"pb", "host=127.0.0.1 port=1 dbname=pgbouncer user=postgres", "", path, {},
                   true};
  const core::Status st = RedirectPooler(p, "127.0.0.1", "7", milliseconds(2000));
  EXPECT_EQ(st.code(), core::Status::Code::kUnavailable) << st.ToString();
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  EXPECT_EQ(text.str(), "postgres = host=127.0.0.1 port=7 dbname=postgres\n");
  unlink(path);
}

TEST(PromoteReplica, UnreachableReplicaIsUnavailable) {
  const core::Status st =
      PromoteReplica({"r", "host=127.0.0.1 port=1 user=postgres", ""}, milliseconds(2000));
  EXPECT_EQ(st.code(), core::Status::Code::kUnavailable);
}

TEST(RunCommand, EnvExitStatusAndTimeout) {
  char path[] = "/tmp/pgdr-exec-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  ASSERT_TRUE(RunCommand({"/bin/sh", "-c", std::string("echo \"$PGDR_CLUSTER\" > ") + path},
                         {{"PGDR_CLUSTER", "prod"}}, milliseconds(5000))
                  .ok());
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  EXPECT_EQ(text.str(), "prod\n");
  unlink(path);
  EXPECT_EQ(RunCommand({"/bin/sh", "-c", "exit 3"}, {}, milliseconds(5000)).message(),
            "/bin/sh exited with status 3");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(RunCommand({"/bin/sleep", "30"}, {}, milliseconds(200)).code(),
            core::Status::Code::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_FALSE(RunCommand({"/nonexistent/cmd"}, {}, milliseconds(1000)).ok());
}

}  // namespace
}  // namespace pgdr::actions

// RaiseFdLimit: the soft open-file limit ends at the hard one, and what it
// reports is what getrlimit says before and after.
#include "app/fd_limit.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

namespace pgdr::app {
namespace {

TEST(RaiseFdLimitTest, RaisesTheSoftLimitToTheHardOne) {
  rlimit lim{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &lim), 0);
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max <= 256) GTEST_SKIP() << "hard limit too low";
  rlimit lowered{256, lim.rlim_max};
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);

  const FdLimit got = RaiseFdLimit();
  EXPECT_EQ(got.before, 256u);
  EXPECT_EQ(got.hard, lim.rlim_max);
  EXPECT_EQ(got.after, lim.rlim_max);
  rlimit now{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &now), 0);
  EXPECT_EQ(now.rlim_cur, lim.rlim_max);

  const FdLimit again = RaiseFdLimit();  // already at the hard limit: nothing to do
  EXPECT_EQ(again.before, lim.rlim_max);
  EXPECT_EQ(again.after, lim.rlim_max);
}

}  // namespace
}  // namespace pgdr::app

// HumanBytes / HumanSeconds: the figures the status page and decision summaries print.
#include <gtest/gtest.h>

#include "pgdr/core/strings.h"

namespace pgdr::core {
namespace {

TEST(HumanFigures, Bytes) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(812), "812 B");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(16.0 * 1024 * 1024), "16 MiB");
  EXPECT_EQ(HumanBytes(-2048), "-2 KiB");
}

TEST(HumanFigures, Seconds) {
  EXPECT_EQ(HumanSeconds(0), "0 s");
  EXPECT_EQ(HumanSeconds(2.25), "2.3 s");
  EXPECT_EQ(HumanSeconds(45), "45 s");
  EXPECT_EQ(HumanSeconds(720), "12 min");
  EXPECT_EQ(HumanSeconds(3.5 * 3600), "3.5 h");
  EXPECT_EQ(HumanSeconds(2 * 86400), "2 d");
}

}  // namespace
}  // namespace pgdr::core

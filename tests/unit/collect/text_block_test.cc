#include "collect/text_block.h"

#include <gtest/gtest.h>

#include <limits>

namespace pgdr::collect {
namespace {

using prometheus::MetricType;

TEST(TextBlockBuilder, WritesWhatSerializeFamiliesWrites) {
  const core::Labels base = {{"cluster", "c"}, {"member", "a \"q\"\nb \\"}};
  core::MetricSet m;
  m.Gauge("pgdr_up", "Up.", base, 1);
  core::Labels l = base;
  l.push_back({"collector", "x"});
  m.Counter("pgdr_errors_total", "", l, 1e21);
  l.back().value = "y";
  m.Counter("pgdr_errors_total", "", l, std::numeric_limits<double>::quiet_NaN());
  const SerializedFamilies want = SerializeFamilies(m.Take());

  SerializedFamilies out;
  for (int round = 0; round < 2; ++round) {  // refilled: the same bytes
    {
      TextBlockBuilder b(out);
      b.Family("pgdr_up", "Up.", MetricType::Gauge);
      b.Sample(base, {}, 1);
      b.Family("pgdr_empty", "Nothing this time.", MetricType::Gauge);
      b.Family("pgdr_errors_total", "", MetricType::Counter);
      b.Sample(base, {{"collector", "x"}}, 1e21);
      b.Sample(base, {{"collector", "y"}}, std::numeric_limits<double>::quiet_NaN());
    }
    ASSERT_EQ(out.size(), 3u);
    EXPECT_TRUE(out[1].hidden);
    EXPECT_EQ(out[2].series, 2u);
    EXPECT_EQ(AssembleExposition({&out}, nullptr), AssembleExposition({&want}, nullptr));
  }
}

}  // namespace
}  // namespace pgdr::collect

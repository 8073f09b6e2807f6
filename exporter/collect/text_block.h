// TextBlockBuilder: writes a block of counter and gauge families as
// exposition text directly, reusing the block's buffers from the previous
// cycle (families are started in the same order every time).
//
// The collector's own series (pgdr_up, per-collector durations and errors,
// …) are ~100 samples per member and cycle; building ClientMetrics for them
// and serialising cost more than writing the lines. The bytes are what
// SerializeFamilies writes for the same samples (unit test).
//
// Thread-safety: none.
#pragma once

#include <initializer_list>
#include <string_view>
#include <utility>

#include "pgdr/collect/exposition.h"
#include "pgdr/core/metric_set.h"

namespace pgdr::collect {

class TextBlockBuilder {
 public:
  using Extra = std::initializer_list<std::pair<std::string_view, std::string_view>>;

  explicit TextBlockBuilder(SerializedFamilies& out) : out_(out) {}
  TextBlockBuilder(const TextBlockBuilder&) = delete;
  TextBlockBuilder& operator=(const TextBlockBuilder&) = delete;
  ~TextBlockBuilder();  // slots not started this time are dropped

  // Starts the next family (Counter, Gauge or Untyped); its samples follow.
  void Family(std::string_view name, std::string_view help, prometheus::MetricType type);
  // A sample of the current family: `labels`, then `extra`.
  void Sample(const core::Labels& labels, Extra extra, double value);

 private:
  SerializedFamilies& out_;
  size_t used_ = 0;
};

}  // namespace pgdr::collect

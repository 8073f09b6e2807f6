#include "pgdr/snapshot.h"

#include <prometheus/text_serializer.h>

namespace pgdr {

std::shared_ptr<const Snapshot> ComposeSnapshot(const SnapshotInputs& in) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->composed_at = in.now;
  MetricSet all;
  for (const auto& [key, target] : in.targets) {
    all.Merge(target->families);
    snapshot->targets.push_back(target);
  }
  MetricSet computed;
  AppendClusterMetrics(in, computed);
  snapshot->computed = computed.Take();
  all.Merge(snapshot->computed);
  all.Merge(in.other);
  snapshot->series = all.series();
  snapshot->text = prometheus::TextSerializer().Serialize(all.Take());
  return snapshot;
}

}  // namespace pgdr

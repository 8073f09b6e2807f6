#include "pgdr/collect/snapshot.h"

namespace pgdr::collect {

std::shared_ptr<const Snapshot> SnapshotComposer::Compose(const SnapshotInputs& in) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->composed_at = in.now;
  std::vector<const SerializedFamilies*>& sources = sources_;
  sources.clear();
  snapshot->targets.reserve(in.targets.size());
  for (const auto& [key, target] : in.targets) {
    if (target->text.empty()) {
      // No copy of `families` unless cached lists must be merged in.
      sources.push_back(target->reused.empty() ? &cache_.Get(target, target->families)
                                               : &cache_.Get(target, AllFamilies(*target)));
    } else {
      for (const auto& block : target->text) sources.push_back(block.get());
    }
    snapshot->targets.push_back(target);
  }
  core::MetricSet computed;
  AppendClusterMetrics(in, primaries_, computed);
  snapshot->computed = computed.Take();
  snapshot->primaries = primaries_;
  snapshot->managers = in.managers;
  SerializeFamiliesInto(snapshot->computed, computed_text_);
  SerializeFamiliesInto(in.other, other_text_);
  sources.push_back(&computed_text_);
  sources.push_back(&other_text_);
  for (const auto& s : in.stable) {
    if (s.families != nullptr) sources.push_back(&cache_.Get(s.owner, *s.families));
  }
  snapshot->text = assembler_.Assemble(sources, &snapshot->series);
  cache_.EndRound();
  return snapshot;
}

std::shared_ptr<const Snapshot> ComposeSnapshot(const SnapshotInputs& in) {
  SnapshotComposer composer;
  return composer.Compose(in);
}

}  // namespace pgdr::collect

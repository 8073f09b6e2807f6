#include "collect/database_fanout.h"

#include <algorithm>

#include "collect/text_block.h"
#include "pgdr/core/log.h"

namespace pgdr::collect {
namespace {

using Families = std::vector<prometheus::MetricFamily>;

// A result's samples as blocks that share its memory, each with its text.
void AppendBlocks(const std::shared_ptr<const TargetResult>& r,
                  std::vector<std::shared_ptr<const Families>>& blocks,
                  std::vector<std::shared_ptr<const SerializedFamilies>>& texts,
                  std::vector<std::shared_ptr<const SerializedFamilies>>& text_only) {
  blocks.emplace_back(r, &r->families);
  blocks.insert(blocks.end(), r->reused.begin(), r->reused.end());
  text_only.insert(text_only.end(), r->text_only.begin(), r->text_only.end());
  if (!r->text.empty()) {
    texts.insert(texts.end(), r->text.begin(), r->text.end());
    return;
  }
  // Not serialised by its collector (its families had several producers,
  // and then it has no reused blocks either).
  texts.push_back(std::make_shared<const SerializedFamilies>(SerializeFamilies(r->families)));
}

}  // namespace

DatabaseFanout::DatabaseFanout(config::TargetConfig target,
                               std::shared_ptr<const std::vector<config::QuerySpec>> queries,
                               config::CollectionConfig options)
    : target_(std::move(target)), queries_(std::move(queries)), options_(options) {}

bool DatabaseFanout::Needed(const std::vector<config::QuerySpec>& queries) {
  return std::any_of(queries.begin(), queries.end(),
                     [](const config::QuerySpec& q) { return q.per_database(); });
}

void DatabaseFanout::Follow(const std::vector<std::string>& databases) { pending_ = databases; }

void DatabaseFanout::ApplyPending(SteadyClock::time_point now) {
  if (!pending_) return;
  std::vector<std::string> wanted;
  for (const auto& db : *pending_) {
    const bool targeted = std::any_of(
        queries_->begin(), queries_->end(),
        [&](const config::QuerySpec& q) { return q.per_database() && q.RunsInDatabase(db); });
    if (targeted) wanted.push_back(db);
  }
  pending_.reset();
  std::sort(wanted.begin(), wanted.end());
  const size_t skipped =
      wanted.size() > options_.max_databases ? wanted.size() - options_.max_databases : 0;
  if (skipped != skipped_ && skipped > 0) {
    core::Log(core::LogLevel::kWarn, "databases over collection.max_databases not collected",
              {{"target", target_.Key()},
               {"skipped", std::to_string(skipped)},
               {"max_databases", std::to_string(options_.max_databases)}});
  }
  skipped_ = skipped;
  wanted.resize(wanted.size() - skipped);
  for (auto it = databases_.begin(); it != databases_.end();) {
    if (std::binary_search(wanted.begin(), wanted.end(), it->first)) {
      ++it;
      continue;
    }
    core::Log(core::LogLevel::kInfo, "database gone: its connection is closed",
              {{"target", target_.Key()}, {"datname", it->first}});
    it = databases_.erase(it);
  }
  for (const auto& db : wanted) {
    if (databases_.count(db) != 0) continue;
    core::Log(core::LogLevel::kInfo, "database found: collecting it over its own connection",
              {{"target", target_.Key()}, {"datname", db}});
    databases_[db].collector =
        std::make_unique<TargetCollector>(target_, queries_, options_, now, db);
  }
}

void DatabaseFanout::AppendCollectors(std::vector<TargetCollector*>& out) const {
  for (const auto& entry : databases_) out.push_back(entry.second.collector.get());
}

void DatabaseFanout::Store(const PolledCollector* from,
                           std::shared_ptr<const TargetResult> result) {
  for (auto& entry : databases_) {
    if (static_cast<const PolledCollector*>(entry.second.collector.get()) == from) {
      entry.second.latest = std::move(result);
      return;
    }
  }
}

std::shared_ptr<const TargetResult> DatabaseFanout::Attach(const TargetResult& member) {
  // A copy of the member's result into one no one holds any more (its
  // buffers reused); the fan-out's own series written as text.
  std::shared_ptr<TargetResult> out = FreeInRing(results_);
  *out = member;
  std::shared_ptr<SerializedFamilies> own = FreeInRing(own_blocks_);
  {
    TextBlockBuilder text(*own);
    text.Family(
        "pgdr_database_connections",
        "Databases of the member collected over a connection of their own (target_databases; "
        "the database of the member's DSN runs over the member's connection).",
        prometheus::MetricType::Gauge);
    text.Sample(member.labels, {}, static_cast<double>(databases_.size()));
    text.Family(
        "pgdr_databases_skipped",
        "Databases some query targets that are not collected: over collection.max_databases.",
        prometheus::MetricType::Gauge);
    text.Sample(member.labels, {}, static_cast<double>(skipped_));
  }
  blocks_.clear();
  texts_.assign(1, own);
  text_only_.assign(1, own);
  for (const auto& entry : databases_) {
    if (entry.second.latest) AppendBlocks(entry.second.latest, blocks_, texts_, text_only_);
  }
  if (out->text.empty()) {
    // The member's samples are not serialised in blocks: merge into them.
    core::MetricSet all;
    all.Merge(std::move(out->families));
    for (const auto& block : blocks_) all.Merge(*block);
    for (const auto& block : text_only_) all.Merge(FamiliesFromText(*block));
    out->families = all.Take();
  } else {
    out->reused.insert(out->reused.end(), blocks_.begin(), blocks_.end());
    out->text.insert(out->text.end(), texts_.begin(), texts_.end());
    out->text_only.insert(out->text_only.end(), text_only_.begin(), text_only_.end());
  }
  // The scratch lists and the results no one holds any more let go of what
  // they share (so that the collectors' block rings find those free).
  blocks_.clear();
  texts_.clear();
  text_only_.clear();
  ReleaseIdleResults(results_);  // not `out`: the caller holds it
  return out;
}

}  // namespace pgdr::collect

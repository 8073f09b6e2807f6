// Fleet sharding (--shard.index / --shard.total): N exporter replicas with
// one config split its clusters with no overlap and no gap. A cluster's
// shard is Prometheus's `hashmod` of its name (md5, the digest's last 8
// bytes read big-endian, modulo total), so the same split can be written as
// a relabel rule (source_labels: [cluster], modulus: total) and checked
// against it. Whole clusters move together: their members, poolers, stores
// and drills stay on one replica, which cross-member lag and RPO need.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pgdr::app {

struct ValidatedConfig;

struct Shard {
  uint64_t index = 0;
  uint64_t total = 1;  // 1: no sharding, this replica keeps every cluster
};

// The shard in [0, total) that owns `cluster`.
uint64_t ShardOf(std::string_view cluster, uint64_t total);

// Drops the targets, PgBouncers, backup stores and drills of the clusters
// other shards own (a PgBouncer with no cluster stays on shard 0). The action
// engine keeps its whole config: alerts of other shards' clusters never
// reach it, since their series are not collected here. Returns a line for
// the log ("shard 1/3: 10 of 30 clusters").
std::string KeepShard(ValidatedConfig& validated, const Shard& shard);

}  // namespace pgdr::app

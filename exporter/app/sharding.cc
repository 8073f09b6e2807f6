#include "app/sharding.h"

#include <openssl/evp.h>

#include <set>

#include "app/validated_config.h"

namespace pgdr::app {

uint64_t ShardOf(std::string_view cluster, uint64_t total) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(cluster.data(), cluster.size(), digest, &length, EVP_md5(), nullptr);
  uint64_t low = 0;
  for (unsigned int i = 8; i < 16 && i < length; ++i) low = (low << 8) | digest[i];
  return low % total;
}

namespace {

template <typename T, typename Owned>
void EraseUnowned(std::vector<T>& items, Owned owned) {
  std::erase_if(items, [&](const T& item) { return !owned(item); });
}

}  // namespace

std::string KeepShard(ValidatedConfig& validated, const Shard& shard) {
  auto owns = [&](const std::string& cluster) {
    return cluster.empty() ? shard.index == 0 : ShardOf(cluster, shard.total) == shard.index;
  };
  std::set<std::string> all;
  std::set<std::string> kept;
  for (const auto& t : validated.config.targets) {
    all.insert(t.cluster);
    if (owns(t.cluster)) kept.insert(t.cluster);
  }
  EraseUnowned(validated.config.targets,
               [&](const config::TargetConfig& t) { return owns(t.cluster); });
  EraseUnowned(validated.config.pgbouncers,
               [&](const config::PgBouncerConfig& p) { return owns(p.cluster); });
  EraseUnowned(validated.drills, [&](const restore::DrillSpec& d) { return owns(d.cluster); });
  // Stores and their monitors are parallel vectors.
  std::vector<store::StoreSettings> stores;
  std::vector<std::unique_ptr<store::BackupMonitor>> monitors;
  for (size_t i = 0; i < validated.stores.size(); ++i) {
    if (!owns(validated.stores[i].cluster)) continue;
    stores.push_back(std::move(validated.stores[i]));
    monitors.push_back(std::move(validated.monitors[i]));
  }
  validated.stores = std::move(stores);
  validated.monitors = std::move(monitors);
  return "shard " + std::to_string(shard.index) + "/" + std::to_string(shard.total) + ": " +
         std::to_string(kept.size()) + " of " + std::to_string(all.size()) + " clusters";
}

}  // namespace pgdr::app

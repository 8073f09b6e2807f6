// barman-cloud: the base backup with barman-cloud-restore, the WAL with
// barman-cloud-wal-restore as restore_command — the commands CloudNativePG
// runs when it bootstraps a cluster from an object store.
#include <filesystem>

#include "restore/driver_util.h"

namespace pgdr::restore {
namespace {

class BarmanCloudDriver final : public RestoreDriver {
 public:
  BarmanCloudDriver(store::StoreSettings store, std::map<std::string, std::string> env,
                    std::vector<std::string> common)
      : store_(std::move(store)), env_(std::move(env)), common_(std::move(common)) {}

  core::Status Fetch(const store::BackupRecord& backup, const RecoveryTarget& target,
                     const FetchContext& ctx) override {
    std::vector<std::string> argv = {"barman-cloud-restore"};
    argv.insert(argv.end(), common_.begin(), common_.end());
    argv.insert(argv.end(), {store_.store_options.url, store_.layout_options.server_name, backup.id,
                             ctx.data_dir});
    core::Status fetched = RunTool("fetch " + BackupObject(backup), AsUser(ctx.run_as, argv), env_,
                                   ctx.timeout, ctx.cancel);
    if (!fetched.ok()) return fetched;
    // CloudNativePG's restore_command: the same options, then %f %p.
    std::string command = "barman-cloud-wal-restore";
    for (const std::string& word : common_) command += " " + ShellQuote(word);
    command += " " + ShellQuote(store_.store_options.url) + " " +
               ShellQuote(store_.layout_options.server_name) + " %f %p";
    if (core::Status s = AppendAutoConf(ctx.data_dir, RecoverySettings(target, command)); !s.ok())
      return s;
    return TouchFile(ctx.data_dir + "/recovery.signal");
  }

  core::Status FetchWal(const std::string& segment, const std::string& path,
                        milliseconds timeout) override {
    std::vector<std::string> argv = {"barman-cloud-wal-restore"};
    argv.insert(argv.end(), common_.begin(), common_.end());
    argv.insert(argv.end(),
                {store_.store_options.url, store_.layout_options.server_name, segment, path});
    return RunTool("fetch " + store_.layout_options.server_name + "/wals/" + segment, argv, env_,
                   timeout);
  }

  std::string BackupObject(const store::BackupRecord& backup) const override {
    return store_.store_options.url + "/" + store_.layout_options.server_name + "/base/" +
           backup.id;
  }

  const std::map<std::string, std::string>& environment() const override { return env_; }

 private:
  store::StoreSettings store_;
  std::map<std::string, std::string> env_;
  std::vector<std::string> common_;  // --cloud-provider, --endpoint-url
};

}  // namespace

core::Result<std::unique_ptr<RestoreDriver>> MakeBarmanCloudDriver(
    const store::StoreSettings& store) {
  const store::StoreOptions& o = store.store_options;
  std::vector<std::string> common;
  if (o.url.starts_with("s3://")) {
    common = {"--cloud-provider", "aws-s3"};
  } else {
    return core::Status::Unsupported("store \"" + store.name + "\": barman-cloud restores from " +
                                     o.url.substr(0, o.url.find("://") + 3) +
                                     " are not implemented (s3:// is)");
  }
  if (!o.endpoint.empty()) {
    common.push_back("--endpoint-url");
    common.push_back(o.endpoint);
  }
  core::Result<std::map<std::string, std::string>> env = S3Environment(o);
  if (!env.ok()) {
    return core::Status::InvalidArgument("store \"" + store.name + "\": " + env.status().message());
  }
  return std::unique_ptr<RestoreDriver>(
      std::make_unique<BarmanCloudDriver>(store, std::move(*env), std::move(common)));
}

}  // namespace pgdr::restore

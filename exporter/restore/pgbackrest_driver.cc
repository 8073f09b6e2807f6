// pgBackRest: `pgbackrest restore --type=time|xid|lsn|immediate|default`,
// which fetches the backup set and writes recovery.signal and its own
// recovery settings, with `pgbackrest archive-get` as restore_command. The
// repository is described on the command line from the store's settings
// (--no-config): a drill never depends on a pgbackrest.conf on this host.
#include <fstream>

#include "pgdr/store/object_store.h"
#include "pgdr/store/wal.h"
#include "restore/driver_util.h"

namespace pgdr::restore {
namespace {

constexpr size_t kMaxSegmentBytes = 1 << 30;

class PgBackRestDriver final : public RestoreDriver {
 public:
  PgBackRestDriver(store::StoreSettings store, std::map<std::string, std::string> env,
                   std::vector<std::string> repo)
      : store_(std::move(store)), env_(std::move(env)), repo_(std::move(repo)) {}

  core::Status Fetch(const store::BackupRecord& backup, const RecoveryTarget& target,
                     const FetchContext& ctx) override {
    std::vector<std::string> argv = Base();
    argv.push_back("--pg1-path=" + ctx.data_dir);
    argv.push_back("--set=" + backup.id);
    switch (target.kind) {
      case RecoveryTarget::Kind::kLatest:
        argv.push_back("--type=default");
        break;
      case RecoveryTarget::Kind::kImmediate:
        argv.push_back("--type=immediate");
        break;
      case RecoveryTarget::Kind::kTime:
        argv.push_back("--type=time");
        break;
      case RecoveryTarget::Kind::kXid:
        argv.push_back("--type=xid");
        break;
      case RecoveryTarget::Kind::kLsn:
        argv.push_back("--type=lsn");
        break;
    }
    if (target.kind != RecoveryTarget::Kind::kLatest &&
        target.kind != RecoveryTarget::Kind::kImmediate) {
      argv.push_back("--target=" + (target.kind == RecoveryTarget::Kind::kTime
                                        ? PostgresTime(target.value)
                                        : target.value));
      if (!target.inclusive) argv.push_back("--target-exclusive");
    }
    if (target.kind != RecoveryTarget::Kind::kLatest) {
      argv.push_back("--target-action=" + target.action);
    }
    if (target.kind != RecoveryTarget::Kind::kImmediate) {
      argv.push_back("--target-timeline=latest");
    }
    argv.push_back("restore");
    return RunTool("fetch " + BackupObject(backup), AsUser(ctx.run_as, argv), env_, ctx.timeout,
                   ctx.cancel);
  }

  // Read from the repository through the store module: `pgbackrest
  // archive-get` insists on a local data directory (pg1-path) to check.
  core::Status FetchWal(const std::string& segment, const std::string& path,
                        milliseconds timeout) override {
    store::StoreOptions options = store_.store_options;
    options.timeout = timeout;
    core::Result<std::unique_ptr<store::ObjectStore>> repo = store::MakeObjectStore(options);
    if (!repo.ok()) return repo.status();
    const std::string base = "archive/" + store_.layout_options.stanza + "/";
    std::vector<std::string> archive_ids;  // "15-1/": one per database version
    core::Status listed = (*repo)->List({base, "", true}, [&](const store::ObjectInfo& info) {
      if (info.is_prefix) archive_ids.push_back(info.key);
      return core::Status::OK();
    });
    if (!listed.ok()) return listed;
    std::string key;
    for (auto id = archive_ids.rbegin(); id != archive_ids.rend() && key.empty(); ++id) {
      listed = (*repo)->List({*id + segment.substr(0, 16) + "/" + segment + "-", "", false},
                             [&](const store::ObjectInfo& info) {
                               if (!info.key.ends_with(".tmp")) key = info.key;
                               return core::Status::OK();
                             });
      if (!listed.ok()) return listed;
    }
    if (key.empty()) {
      return core::Status::NotFound(store_.store_options.url + "/" + base + "*/" + segment + ": " +
                                    std::string(store::kErrNotFound));
    }
    if (!key.ends_with(".gz") && (key.size() < 41 || key[key.size() - 41] != '-')) {
      return core::Status::Unsupported(key + ": only gzip or uncompressed WAL can be read");
    }
    core::Result<std::string> data = (*repo)->Read(key, kMaxSegmentBytes);
    if (data.ok() && key.ends_with(".gz")) data = store::Gunzip(*data, kMaxSegmentBytes);
    if (!data.ok()) return core::Status::IOError(key + ": " + data.status().message());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(data->data(), static_cast<std::streamsize>(data->size()));
    out.flush();
    if (!out) return core::Status::IOError("cannot write " + path);
    return core::Status::OK();
  }

  std::string BackupObject(const store::BackupRecord& backup) const override {
    return store_.store_options.url + "/backup/" + store_.layout_options.stanza + "/" + backup.id;
  }

  const std::map<std::string, std::string>& environment() const override { return env_; }

 private:
  std::vector<std::string> Base() const {
    std::vector<std::string> argv = {"pgbackrest", "--no-config",
                                     "--stanza=" + store_.layout_options.stanza,
                                     "--log-level-console=warn", "--log-level-file=off"};
    argv.insert(argv.end(), repo_.begin(), repo_.end());
    return argv;
  }

  store::StoreSettings store_;
  std::map<std::string, std::string> env_;
  std::vector<std::string> repo_;  // --repo1-* options
};

}  // namespace

core::Result<std::unique_ptr<RestoreDriver>> MakePgBackRestDriver(
    const store::StoreSettings& store) {
  const store::StoreOptions& o = store.store_options;
  std::vector<std::string> repo;
  std::map<std::string, std::string> env;
  if (o.url.starts_with("file://")) {
    repo = {"--repo1-type=posix", "--repo1-path=" + o.url.substr(7)};
  } else if (o.url.starts_with("s3://")) {
    std::string rest = o.url.substr(5);
    size_t slash = rest.find('/');
    std::string bucket = rest.substr(0, slash);
    std::string prefix = slash == std::string::npos ? "/" : rest.substr(slash);
    repo = {"--repo1-type=s3", "--repo1-s3-bucket=" + bucket, "--repo1-path=" + prefix,
            "--repo1-s3-region=" + o.region};
    if (!o.endpoint.empty()) {
      std::string host = o.endpoint.substr(o.endpoint.find("://") + 3);
      repo.push_back("--repo1-s3-endpoint=" + host);
      if (o.path_style.value_or(true)) repo.push_back("--repo1-s3-uri-style=path");
    }
    core::Result<std::map<std::string, std::string>> aws = S3Environment(o);
    if (!aws.ok()) {
      return core::Status::InvalidArgument("store \"" + store.name +
                                           "\": " + aws.status().message());
    }
    // pgBackRest reads its secrets from PGBACKREST_* variables, never argv.
    env["PGBACKREST_REPO1_S3_KEY"] = (*aws)["AWS_ACCESS_KEY_ID"];
    env["PGBACKREST_REPO1_S3_KEY_SECRET"] = (*aws)["AWS_SECRET_ACCESS_KEY"];
    if (aws->contains("AWS_SESSION_TOKEN")) {
      env["PGBACKREST_REPO1_S3_TOKEN"] = (*aws)["AWS_SESSION_TOKEN"];
    }
  } else {
    return core::Status::Unsupported("store \"" + store.name +
                                     "\": pgBackRest restores from file:// and s3:// "
                                     "repositories only");
  }
  return std::unique_ptr<RestoreDriver>(
      std::make_unique<PgBackRestDriver>(store, std::move(env), std::move(repo)));
}

}  // namespace pgdr::restore

// pg_dump: a logical backup is one dump file (custom, tar, or plain SQL,
// plain also gzip'd) or a directory-format dump, whose toc.dat the store's
// pattern matches and whose other files lie beside it. A restore initdb's a
// fresh scratch cluster, fetches the dump into <data_dir>/pgdr-dump/ and,
// once the cluster runs, loads it into the database `db_name` (created if
// initdb did not): pg_restore --exit-on-error --no-owner --no-privileges (the
// scratch cluster has none of production's roles) for the archive formats,
// psql -v ON_ERROR_STOP=1 -f for plain SQL. The fetched dump is removed after
// the load. The client tools run as this process's user: they reach the
// server through its socket, and only the server needs --run-as.
#include <filesystem>
#include <fstream>

#include "pgdr/store/object_store.h"
#include "restore/driver_util.h"

namespace pgdr::restore {
namespace {

namespace fs = std::filesystem;

// Dumps are read whole through the store module (it has no streaming read).
constexpr size_t kMaxDumpBytes = size_t{1} << 30;
constexpr char kDumpDir[] = "pgdr-dump";
constexpr std::string_view kTocFile = "toc.dat";

enum class Format { kArchive, kPlain, kGzip };  // archive: custom, tar, directory (pg_restore)

Format Sniff(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char head[512] = {};
  f.read(head, sizeof head);
  std::string_view got(head, static_cast<size_t>(f.gcount()));
  if (got.starts_with("PGDMP")) return Format::kArchive;                            // custom
  if (got.size() >= 262 && got.substr(257, 5) == "ustar") return Format::kArchive;  // tar
  if (got.size() >= 2 && got[0] == '\x1f' && got[1] == '\x8b') return Format::kGzip;
  return Format::kPlain;
}

bool IsDirectoryDump(const std::string& key) {
  return key == kTocFile || key.ends_with("/" + std::string(kTocFile));
}

core::Status WriteFile(const fs::path& path, const std::string& data) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.flush();
  if (!out) return core::Status::IOError("cannot write " + path.string());
  return core::Status::OK();
}

class PgDumpDriver final : public RestoreDriver {
 public:
  explicit PgDumpDriver(store::StoreSettings store) : store_(std::move(store)) {}

  core::Status Fetch(const store::BackupRecord& backup, const RecoveryTarget& /*target*/,
                     const FetchContext& ctx) override {
    object_ = BackupObject(backup);
    // initdb first: it wants an empty directory, the dump goes inside it.
    std::vector<std::string> initdb = {ctx.pg_bin + "/initdb",
                                       "-D",
                                       ctx.data_dir,
                                       "-U",
                                       ctx.db_user,
                                       "--auth=trust",
                                       "--encoding=UTF8",
                                       "--locale=C",
                                       "--no-sync",
                                       "--no-instructions"};
    if (core::Status s = RunTool("initdb " + ctx.data_dir, AsUser(ctx.run_as, initdb), {},
                                 ctx.timeout, ctx.cancel);
        !s.ok()) {
      return s;
    }
    store::StoreOptions options = store_.store_options;
    options.timeout = ctx.timeout;
    core::Result<std::unique_ptr<store::ObjectStore>> repo = store::MakeObjectStore(options);
    if (!repo.ok()) return repo.status();
    const fs::path dir = fs::path(ctx.data_dir) / kDumpDir;
    std::vector<std::pair<std::string, fs::path>> files;  // key, local path
    directory_ = IsDirectoryDump(backup.id);
    if (directory_) {
      const std::string prefix = backup.id.substr(0, backup.id.size() - kTocFile.size());
      local_ = (dir / "dump.dir").string();
      core::Status listed = (*repo)->List({prefix, "", false}, [&](const store::ObjectInfo& info) {
        files.emplace_back(info.key, fs::path(local_) / info.key.substr(prefix.size()));
        return core::Status::OK();
      });
      if (!listed.ok()) return core::Status::IOError(object_ + ": " + listed.message());
    } else {
      local_ = (dir / fs::path(backup.id).filename()).string();
      files.emplace_back(backup.id, local_);
    }
    for (const auto& [key, path] : files) {
      if (ctx.cancel != nullptr && ctx.cancel->load()) return core::Status::IOError("cancelled");
      core::Result<std::string> data = (*repo)->Read(key, kMaxDumpBytes);
      if (!data.ok()) {
        return core::Status::IOError("fetch " + store_.store_options.url + "/" + key + ": " +
                                     data.status().message());
      }
      if (core::Status s = WriteFile(path, *data); !s.ok()) return s;
    }
    return core::Status::OK();
  }

  core::Status FetchWal(const std::string& segment, const std::string& /*path*/,
                        milliseconds /*timeout*/) override {
    return core::Status::Unsupported("store \"" + store_.name +
                                     "\" (pg_dump) has no WAL: " + segment);
  }

  std::string BackupObject(const store::BackupRecord& backup) const override {
    return store_.store_options.url + "/" + backup.id;
  }

  const std::map<std::string, std::string>& environment() const override { return env_; }

  bool Logical() const override { return true; }

  core::Status Load(const LoadContext& ctx) override {
    core::Status loaded = LoadDump(ctx);
    std::error_code ec;
    fs::remove_all(fs::path(ctx.socket_dir) / kDumpDir, ec);
    return loaded;
  }

 private:
  core::Status LoadDump(const LoadContext& ctx) {
    const std::vector<std::string> conn = {"-h", ctx.socket_dir, "-p", std::to_string(ctx.port),
                                           "-U", ctx.db_user};
    if (ctx.db_name != "postgres" && ctx.db_name != "template1") {
      std::vector<std::string> createdb = {ctx.pg_bin + "/createdb"};
      createdb.insert(createdb.end(), conn.begin(), conn.end());
      createdb.push_back(ctx.db_name);
      if (core::Status s =
              RunTool("createdb " + ctx.db_name, createdb, {}, ctx.timeout, ctx.cancel);
          !s.ok()) {
        return s;
      }
    }
    std::string file = local_;
    Format format = directory_ ? Format::kArchive : Sniff(file);
    if (format == Format::kGzip) {
      const std::string plain = file + ".out";
      core::ProcessOptions gunzip;
      gunzip.argv = {"gzip", "-dc", file};
      gunzip.stdout_path = plain;
      gunzip.timeout = ctx.timeout;
      gunzip.cancel = ctx.cancel;
      core::Result<core::ProcessResult> run = core::RunProcess(gunzip);
      if (!run.ok())
        return core::Status::IOError("load " + object_ + ": " + run.status().message());
      if (run->exit_code != 0) {
        return core::Status::IOError("load " + object_ + ": " + core::DescribeExit(gunzip, *run));
      }
      std::error_code ec;
      fs::remove(file, ec);
      file = plain;
      format = Sniff(file);
      if (format == Format::kGzip) {
        return core::Status::IOError("load " + object_ + ": gzip inside gzip is not a dump");
      }
    }
    std::vector<std::string> argv;
    if (format == Format::kArchive) {
      argv = {ctx.pg_bin + "/pg_restore", "--exit-on-error", "--no-owner", "--no-privileges"};
    } else {
      argv = {ctx.pg_bin + "/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"};
    }
    argv.insert(argv.end(), conn.begin(), conn.end());
    argv.insert(argv.end(), {"-d", ctx.db_name});
    if (format == Format::kPlain) argv.push_back("-f");
    argv.push_back(file);
    return RunTool("load " + object_, argv, {}, ctx.timeout, ctx.cancel);
  }

  store::StoreSettings store_;
  std::map<std::string, std::string> env_;  // none: the store is read in-process
  std::string object_;                      // the dump, as BackupObject names it
  std::string local_;                       // the fetched file, or directory of a directory dump
  bool directory_ = false;
};

}  // namespace

core::Result<std::unique_ptr<RestoreDriver>> MakePgDumpDriver(const store::StoreSettings& store) {
  return std::unique_ptr<RestoreDriver>(std::make_unique<PgDumpDriver>(store));
}

}  // namespace pgdr::restore

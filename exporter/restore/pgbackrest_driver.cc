// pgBackRest: `pgbackrest restore --type=time|xid|lsn|immediate|default`,
// which fetches the backup and writes its own restore_command
// (`pgbackrest archive-get`) and recovery settings.
#include "restore/driver_util.h"

namespace pgdr::restore {

core::Result<std::unique_ptr<RestoreDriver>> MakePgBackRestDriver(
    const store::StoreSettings& store) {
  return core::Status::Unsupported("store \"" + store.name + "\": pgbackrest restores: not yet");
}

}  // namespace pgdr::restore

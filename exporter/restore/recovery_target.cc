// Recovery targets and the settings that tell PostgreSQL where to stop.
#include "pgdr/restore/restore.h"
#include "restore/driver_util.h"

namespace pgdr::restore {

std::string RecoveryTarget::Describe() const {
  std::string text;
  switch (kind) {
    case Kind::kLatest:
      return "latest";
    case Kind::kImmediate:
      return "immediate (end of the base backup)";
    case Kind::kTime:
      text = "time " + value;
      break;
    case Kind::kXid:
      text = "xid " + value;
      break;
    case Kind::kLsn:
      text = "lsn " + value;
      break;
  }
  return text + (inclusive ? " (inclusive)" : " (exclusive)");
}

std::string RecoverySettings(const RecoveryTarget& target, const std::string& restore_command) {
  std::string lines = "restore_command = " + ConfQuote(restore_command) + "\n";
  switch (target.kind) {
    case RecoveryTarget::Kind::kLatest:
      // No target: replay every archived segment, then promote.
      return lines + "recovery_target_timeline = 'latest'\n";
    case RecoveryTarget::Kind::kImmediate:
      lines += "recovery_target = 'immediate'\n";
      break;
    case RecoveryTarget::Kind::kTime:
      lines += "recovery_target_time = " + ConfQuote(PostgresTime(target.value)) + "\n";
      break;
    case RecoveryTarget::Kind::kXid:
      lines += "recovery_target_xid = " + ConfQuote(target.value) + "\n";
      break;
    case RecoveryTarget::Kind::kLsn:
      lines += "recovery_target_lsn = " + ConfQuote(target.value) + "\n";
      break;
  }
  if (target.kind != RecoveryTarget::Kind::kImmediate) {
    lines += std::string("recovery_target_inclusive = ") + (target.inclusive ? "on" : "off") + "\n";
  }
  return lines + "recovery_target_timeline = 'latest'\nrecovery_target_action = " +
         ConfQuote(target.action) + "\n";
}

}  // namespace pgdr::restore

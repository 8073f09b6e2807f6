// pg_waldump lines as PostgreSQL 15 prints them (captured from a real server:
// DELETE of 3 rows, TRUNCATE, DROP TABLE, and an aborted DELETE).
#include <gtest/gtest.h>

#include "pgdr/restore/find_transaction.h"

namespace pgdr::restore {
namespace {

constexpr const char* kDump[] = {
    "rmgr: Heap        len (rec/tot):     54/    54, tx:        725, lsn: 0/015169B0, prev "
    "0/01516818, desc: DELETE off 1 flags 0x00 KEYS_UPDATED , blkref #0: rel 1663/5/16384 blk 0",
    "rmgr: Heap        len (rec/tot):     54/    54, tx:        725, lsn: 0/015169E8, prev "
    "0/015169B0, desc: DELETE off 2 flags 0x00 KEYS_UPDATED , blkref #0: rel 1663/5/16384 blk 0",
    "rmgr: Heap        len (rec/tot):     54/    54, tx:        725, lsn: 0/01516A20, prev "
    "0/015169E8, desc: DELETE off 3 flags 0x00 KEYS_UPDATED , blkref #0: rel 1663/5/16384 blk 0",
    "rmgr: Heap        len (rec/tot):     54/    54, tx:        726, lsn: 0/01516A30, prev "
    "0/01516A20, desc: DELETE off 4 flags 0x00 KEYS_UPDATED , blkref #0: rel 1663/5/16384 blk 0",
    "rmgr: Transaction len (rec/tot):     34/    34, tx:        726, lsn: 0/01516A40, prev "
    "0/01516A30, desc: ABORT 2026-12-02 14:18:20.500000 UTC",
    "rmgr: Transaction len (rec/tot):     34/    34, tx:        725, lsn: 0/01516A58, prev "
    "0/01516A20, desc: COMMIT 2026-12-02 14:18:20.559491 UTC",
    "rmgr: Storage     len (rec/tot):     42/    42, tx:        727, lsn: 0/0151AA28, prev "
    "0/0151A9F8, desc: CREATE base/5/16390",
    "rmgr: Heap        len (rec/tot):    123/   123, tx:        727, lsn: 0/0151AA58, prev "
    "0/0151AA28, desc: UPDATE off 1 xmax 727 flags 0x60 ; new off 3 xmax 0, blkref #0: rel "
    "1663/5/1259 blk 1",
    "rmgr: Transaction len (rec/tot):    114/   114, tx:        727, lsn: 0/0151AB98, prev "
    "0/0151AB58, desc: COMMIT 2026-12-02 14:18:21.467203 UTC; rels: base/5/16384; inval msgs: "
    "catcache 55 catcache 54 relcache 16384",
    "rmgr: Heap        len (rec/tot):     54/    54, tx:        729, lsn: 0/0151AC00, prev "
    "0/0151AB98, desc: DELETE off 1 flags 0x00 KEYS_UPDATED , blkref #0: rel 1663/5/16390 blk 0",
    "rmgr: Transaction len (rec/tot):     34/    34, tx:        728, lsn: 0/0151AC10, prev "
    "0/0151AC00, desc: COMMIT 2026-12-02 14:18:21.600000 UTC; subxacts: 729",
    "rmgr: Heap        len (rec/tot):     54/    54, tx:        730, lsn: 0/0151AC40, prev "
    "0/0151AC10, desc: DELETE off 11 flags 0x00 KEYS_UPDATED , blkref #0: rel 1663/5/1247 blk 14",
    "rmgr: Transaction len (rec/tot):    469/   469, tx:        730, lsn: 0/0151AF18, prev "
    "0/0151AEE0, desc: COMMIT 2026-12-02 14:18:22.067567 UTC; rels: base/5/16390; dropped stats: "
    "2/5/16384; inval msgs: catcache 80",
};

TEST(WalDumpScanner, DeleteTruncateSubtransactionAndDrop) {
  WalDumpScanner scanner(RelFile{5, 16384});
  for (const char* line : kDump) scanner.Line(line);
  scanner.Line("pg_waldump: error: error in WAL record at 0/0151B000: invalid record length");
  std::vector<BadTransaction> found = scanner.Finish();
  ASSERT_EQ(found.size(), 4u);
  EXPECT_EQ(found[0].xid, 725u);
  EXPECT_EQ(found[0].kinds, "delete");
  EXPECT_EQ(found[0].rows_deleted, 3u);
  EXPECT_EQ(found[0].commit_time, "2026-12-02 14:18:20.559491 UTC");
  EXPECT_EQ(found[0].commit_lsn, 0x01516A58u);
  EXPECT_EQ(found[1].xid, 727u);
  EXPECT_EQ(found[1].kinds, "truncate");
  // After the truncate the relation lives in 16390: a subtransaction's delete counts for 728.
  EXPECT_EQ(found[2].xid, 728u);
  EXPECT_EQ(found[2].kinds, "delete");
  EXPECT_EQ(found[2].rows_deleted, 1u);
  EXPECT_EQ(found[3].xid, 730u);
  EXPECT_EQ(found[3].kinds, "drop");
  EXPECT_EQ(found[3].rows_deleted, 0u);
}

TEST(WalDumpScanner, OtherRelationsAndAbortsAreIgnored) {
  WalDumpScanner scanner(RelFile{5, 99999});
  for (const char* line : kDump) scanner.Line(line);
  EXPECT_TRUE(scanner.Finish().empty());
}

}  // namespace
}  // namespace pgdr::restore

// Start-up pages given back once pgdr is serving. Loading pgdr maps its
// binary and ~40 shared libraries (libpq and libcurl bring OpenSSL, GnuTLS,
// Kerberos, p11-kit, LDAP); the dynamic linker's relocations and the
// libraries' constructors touch most of their code once, and on kernels that
// cache files in large folios every touch maps a whole folio. Measured with
// the shipped rules on 3 members: 16.8 MiB of file-backed RSS, of which the
// steady state uses ~6 MiB. The rest is clean and stays in the page cache;
// the kernel may reclaim it at any time anyway. Dropping this process's
// mappings of it (MADV_DONTNEED) makes RSS the working set; a page needed
// again comes back on a minor fault.
//
// Only private, non-writable, file-backed mappings without a single
// copy-on-write page (smaps "Anonymous: 0") are touched: their contents are
// exactly the file's, so nothing is lost. Relocated data (RELRO) and every
// writable mapping are left alone.
#pragma once

#include <cstdint>
#include <string_view>

namespace pgdr::app {

struct ReleasedPages {
  int mappings = 0;              // mappings dropped
  uint64_t rss_file_before = 0;  // bytes of RssFile (/proc/self/status) before
  uint64_t rss_file_after = 0;   // and after
};

// Whether one /proc/self/smaps mapping may be dropped: `perms` as smaps
// prints it ("r-xp"), its inode and its "Anonymous:" kB.
bool DroppableMapping(std::string_view perms, uint64_t inode, uint64_t anonymous_kb);

// Drops the droppable mappings of this process; logs what it did.
ReleasedPages ReleaseStartupPages();

}  // namespace pgdr::app

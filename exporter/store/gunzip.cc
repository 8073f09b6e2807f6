#include <zlib.h>

#include "pgdr/store/wal.h"

namespace pgdr::store {

core::Result<std::string> Gunzip(std::string_view data, size_t max_bytes) {
  z_stream stream{};
  // 16 + MAX_WBITS: expect a gzip header.
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK)
    return core::Status::IOError("inflateInit2 failed");
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buffer[16384];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    rc = inflate(&stream, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    out.append(buffer, sizeof buffer - stream.avail_out);
    if (out.size() > max_bytes) {
      inflateEnd(&stream);
      return core::Status::Corruption("gzip: decompressed size exceeds " +
                                      std::to_string(max_bytes));
    }
    if (rc == Z_OK && stream.avail_in == 0 && stream.avail_out != 0) break;  // input ended early
  }
  inflateEnd(&stream);
  if (rc != Z_STREAM_END) return core::Status::Corruption("gzip: truncated or not gzip data");
  return out;
}

}  // namespace pgdr::store

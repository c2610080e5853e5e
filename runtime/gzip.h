// Reading files that may or may not be gzip-compressed, and compressing.
// Whether a file is compressed is told by its first two bytes (1f 8b), never
// by its name: data sets come both ways, often misnamed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <zlib.h>

namespace netc {

// A file's bytes, inflated on the fly when the file is gzip. Every problem
// (missing file, not a regular file, corrupt or truncated gzip data, bytes
// after the gzip data, data inflating to over 100 times its size once past
// 64 MiB) is an InputError naming the file.
class DecompressingReader {
 public:
  explicit DecompressingReader(const std::string& path);
  ~DecompressingReader();
  DecompressingReader(const DecompressingReader&) = delete;
  DecompressingReader& operator=(const DecompressingReader&) = delete;

  // Up to `size` bytes into `out`; fewer only at the end of the data.
  size_t read(void* out, size_t size);
  bool compressed() const { return compressed_; }
  // How many more bytes read() is likely to return, to size a buffer, never
  // a limit: the rest of a raw file (unless it grows meanwhile); for gzip,
  // what a data set's typical inflation (about 5 times) leaves to come,
  // generously rounded up.
  uint64_t expected_remaining() const;
  const std::string& path() const { return path_; }

 private:
  size_t refill();  // reads more of the file into the input buffer; 0 at its end
  size_t read_raw(uint8_t* out, size_t size);
  size_t read_inflated(uint8_t* out, size_t size);
  bool start_next_member();
  [[noreturn]] void fail(const std::string& problem) const;

  std::string path_;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_;
  std::vector<uint8_t> in_;
  z_stream z_{};  // next_in/avail_in are the unread part of in_, in both modes
  bool compressed_ = false, member_done_ = false;
  uint64_t file_bytes_ = 0, inflated_bytes_ = 0;  // read from the file, and inflated from them
  uint64_t file_size_ = 0;                         // when it was opened
};

// `bytes` as a gzip file's contents.
std::string gzip_compress(const std::string& bytes);

}  // namespace netc

// Files that other programs (or a crash) never see half-written, and bounded
// reads of files a user gave us.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace netc {

// Writes `path` through a temporary file in the same folder, synced and then
// renamed over `path`: readers see the old contents or the new, never a mix.
// The temporary file is removed if anything fails or commit() is never called.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(const std::string& path);  // throws std::runtime_error
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t size);  // throws std::runtime_error
  void write(const std::string& bytes) { write(bytes.data(), bytes.size()); }
  // Syncs, closes and renames the temporary file onto `path`.
  void commit();

 private:
  [[noreturn]] void fail(const std::string& what);
  void discard();

  std::string path_, temp_path_;
  int fd_ = -1;
};

// The whole of `bytes` as `path`, atomically (see AtomicFileWriter).
void write_file_atomically(const std::string& path, const std::string& bytes);

// The contents of `path`; InputError "cannot read [WHAT ]FILE: reason" when it
// is missing, unreadable, not a regular file or larger than `max_bytes`.
// `what` names the kind of file in that message ("graph file"). A FIFO or
// device is refused before it is opened, so reading one never blocks.
std::string read_file(const std::string& path, uint64_t max_bytes, const std::string& what = "");
// Its first `max_bytes` bytes (all of a shorter file), with read_file's checks
// but no size limit: enough to recognize what kind of file it is.
std::string read_file_start(const std::string& path, uint64_t max_bytes, const std::string& what = "");

}  // namespace netc

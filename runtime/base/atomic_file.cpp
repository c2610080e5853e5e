#include "atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "input_error.h"

namespace netc {
namespace {

std::string folder_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// A name next to `path` that no other writer (thread or process) picks: the
// rename must stay within one file system, so the temporary file shares the folder.
std::string temp_name(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  size_t slash = path.rfind('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return fmt::format("{}/.{}.tmp.{}.{}", folder_of(path), base, getpid(), counter++);
}

// Makes the rename itself durable; best effort, as some file systems refuse
// to sync folders.
void sync_folder(const std::string& folder) {
  int fd = open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  fsync(fd);
  close(fd);
}

// Closes the descriptor on every way out of read_file().
struct OpenFile {
  int fd;
  ~OpenFile() {
    if (fd >= 0) close(fd);
  }
};

[[noreturn]] void read_failed(const std::string& what, const std::string& path, const std::string& reason) {
  throw InputError(fmt::format("cannot read {}{}: {}", what.empty() ? "" : what + " ", path, reason));
}

// Why `st` is no file to read, or nullptr when it is a regular file.
const char* not_regular(const struct stat& st) {
  if (S_ISREG(st.st_mode)) return nullptr;
  return S_ISDIR(st.st_mode) ? "it is a folder" : "it is not a regular file";
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(const std::string& path) : path_(path) {
  for (int attempt = 0; fd_ < 0; ++attempt) {
    temp_path_ = temp_name(path);
    fd_ = open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    // EEXIST: a leftover of a crashed process with our pid; take the next name.
    if (fd_ < 0 && (errno != EEXIST || attempt > 100)) {
      std::string reason = std::strerror(errno);
      temp_path_.clear();
      throw std::runtime_error(fmt::format("cannot write {}: {}", path_, reason));
    }
  }
}

AtomicFileWriter::~AtomicFileWriter() { discard(); }

void AtomicFileWriter::discard() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  if (!temp_path_.empty()) unlink(temp_path_.c_str());
  temp_path_.clear();
}

void AtomicFileWriter::fail(const std::string& what) {
  std::string reason = std::strerror(errno);
  discard();
  throw std::runtime_error(fmt::format("cannot write {}: {}: {}", path_, what, reason));
}

void AtomicFileWriter::write(const void* data, size_t size) {
  if (fd_ < 0) throw std::logic_error("AtomicFileWriter: write after commit or failure: " + path_);
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write failed");
    p += n, size -= size_t(n);
  }
}

void AtomicFileWriter::commit() {
  if (fd_ < 0) throw std::logic_error("AtomicFileWriter: commit after commit or failure: " + path_);
  if (fsync(fd_) != 0) fail("fsync failed");
  int fd = fd_;
  fd_ = -1;
  if (close(fd) != 0) fail("close failed");
  if (rename(temp_path_.c_str(), path_.c_str()) != 0) fail("rename failed");
  temp_path_.clear();
  sync_folder(folder_of(path_));
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  AtomicFileWriter writer(path);
  writer.write(bytes);
  writer.commit();
}

namespace {

// A descriptor of `path` open for reading, with its size; refused unless it
// is a regular file. Checked before opening: opening a FIFO for reading
// waits for a writer.
int open_regular_file(const std::string& path, const std::string& what, uint64_t* size) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) read_failed(what, path, std::strerror(errno));
  if (const char* why = not_regular(st)) read_failed(what, path, why);
  // O_NONBLOCK in case the path became a FIFO since; fstat then refuses it.
  OpenFile file{open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (file.fd < 0 || fstat(file.fd, &st) != 0) read_failed(what, path, std::strerror(errno));
  if (const char* why = not_regular(st)) read_failed(what, path, why);
  *size = uint64_t(st.st_size);
  return std::exchange(file.fd, -1);
}

std::string read_bytes(const OpenFile& file, size_t size, const std::string& path, const std::string& what) {
  std::string bytes(size, '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::read(file.fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) read_failed(what, path, std::strerror(errno));
    if (n == 0) read_failed(what, path, "it shrank while being read");
    done += size_t(n);
  }
  return bytes;
}

}  // namespace

std::string read_file(const std::string& path, uint64_t max_bytes, const std::string& what) {
  uint64_t size = 0;
  OpenFile file{open_regular_file(path, what, &size)};
  if (size > max_bytes)
    read_failed(what, path, fmt::format("it has {} bytes, more than the limit of {}", size, max_bytes));
  return read_bytes(file, size_t(size), path, what);
}

std::string read_file_start(const std::string& path, uint64_t max_bytes, const std::string& what) {
  uint64_t size = 0;
  OpenFile file{open_regular_file(path, what, &size)};
  return read_bytes(file, size_t(std::min(size, max_bytes)), path, what);
}

}  // namespace netc

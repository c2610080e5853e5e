#include "gzip.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "input_error.h"

namespace netc {
namespace {

constexpr size_t kInputChunk = 256 << 10;
// zlib counts in 32-bit unsigned ints; hand it at most this much at a time.
constexpr size_t kMaxZlibChunk = size_t(1) << 30;
constexpr int kGzipWindowBits = 15 + 16;  // 15: the largest window; +16: gzip framing, not zlib's
// A gzip bomb: data that inflates to more than kMaxRatio times the bytes read
// for it, once past kRatioFloor (so that tiny, very compressible files stay
// readable). Real data sets inflate about 5 times, the usual bombs 500 to 1000.
constexpr uint64_t kMaxRatio = 100;
constexpr uint64_t kRatioFloor = uint64_t(64) << 20;
// What a buffer for a gzip file's contents is sized for at first: MNIST's
// image files inflate 4.8 times (a bomb's buffer still grows only as its data
// comes).
constexpr uint64_t kExpectedRatio = 8;

// `path` opened for reading, refused unless it is a regular file: O_NONBLOCK
// so that opening a FIFO returns at once instead of waiting for a writer.
std::FILE* open_regular_file(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw InputError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    throw InputError(fmt::format("cannot read {}: {}", path, S_ISDIR(st.st_mode) ? "it is a folder"
                                                                                  : "it is not a regular file"));
  }
  return fdopen(fd, "rb");
}

}  // namespace

DecompressingReader::DecompressingReader(const std::string& path)
    : path_(path), file_(open_regular_file(path), &std::fclose), in_(kInputChunk) {
  if (!file_) throw InputError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  struct stat st {};
  if (fstat(fileno(file_.get()), &st) == 0) file_size_ = uint64_t(st.st_size);
  // fread reads to the end of a regular file or the buffer, so a file of 2
  // bytes or more yields both magic bytes here.
  refill();
  compressed_ = z_.avail_in >= 2 && in_[0] == 0x1f && in_[1] == 0x8b;
  if (compressed_ && inflateInit2(&z_, kGzipWindowBits) != Z_OK) throw std::bad_alloc();
}

DecompressingReader::~DecompressingReader() {
  if (compressed_) inflateEnd(&z_);
}

uint64_t DecompressingReader::expected_remaining() const {
  const uint64_t expected = compressed_ ? kExpectedRatio * file_size_ : file_size_;
  const uint64_t done = compressed_ ? inflated_bytes_ : file_bytes_ - z_.avail_in;
  return expected > done ? expected - done : 0;
}

void DecompressingReader::fail(const std::string& problem) const { throw InputError(path_ + ": " + problem); }

size_t DecompressingReader::refill() {
  size_t n = std::fread(in_.data(), 1, in_.size(), file_.get());
  if (std::ferror(file_.get())) fail(fmt::format("read error: {}", std::strerror(errno)));
  file_bytes_ += n;
  z_.next_in = in_.data();
  z_.avail_in = uInt(n);
  return n;
}

size_t DecompressingReader::read(void* out, size_t size) {
  auto* p = static_cast<uint8_t*>(out);
  size_t done = 0;
  while (done < size) {
    size_t chunk = std::min(size - done, kMaxZlibChunk);
    size_t n = compressed_ ? read_inflated(p + done, chunk) : read_raw(p + done, chunk);
    done += n;
    if (n < chunk) break;
  }
  return done;
}

size_t DecompressingReader::read_raw(uint8_t* out, size_t size) {
  size_t done = 0;
  while (done < size && (z_.avail_in > 0 || refill() > 0)) {
    size_t n = std::min(size - done, size_t(z_.avail_in));
    std::memcpy(out + done, z_.next_in, n);
    z_.next_in += n, z_.avail_in -= uInt(n), done += n;
  }
  return done;
}

// A gzip file may hold several members back to back (as `cat a.gz b.gz`
// makes); their contents follow each other. Anything else after a member is
// an error, not something to ignore silently.
bool DecompressingReader::start_next_member() {
  if (z_.avail_in == 0 && refill() == 0) return false;
  if (z_.next_in[0] != 0x1f) fail("unexpected bytes after the end of the gzip data");
  inflateReset(&z_);
  member_done_ = false;
  return true;
}

size_t DecompressingReader::read_inflated(uint8_t* out, size_t size) {
  z_.next_out = out;
  z_.avail_out = uInt(size);
  while (z_.avail_out > 0) {
    if (member_done_ && !start_next_member()) break;
    if (z_.avail_in == 0) refill();
    const uInt room = z_.avail_out;
    int rc = inflate(&z_, Z_NO_FLUSH);
    inflated_bytes_ += room - z_.avail_out;
    const uint64_t consumed = file_bytes_ - z_.avail_in;  // of the file, not what was read ahead
    if (inflated_bytes_ > kRatioFloor && inflated_bytes_ > kMaxRatio * consumed)
      fail(fmt::format("inflates to more than {} times its size ({} bytes from {}): refused as a gzip bomb", kMaxRatio,
                       inflated_bytes_, consumed));
    if (rc == Z_STREAM_END) member_done_ = true;
    // No progress with output space left: the input ran out mid-stream.
    else if (rc == Z_BUF_ERROR && z_.avail_in == 0) fail("the gzip data ends early: the file is truncated");
    else if (rc == Z_MEM_ERROR) throw std::bad_alloc();
    else if (rc != Z_OK) fail(fmt::format("corrupt gzip data ({})", z_.msg ? z_.msg : "error " + std::to_string(rc)));
  }
  return size - z_.avail_out;
}

std::string gzip_compress(const std::string& bytes) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::bad_alloc();
  std::string out;
  std::vector<char> chunk(kInputChunk);
  size_t given = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (z.avail_in == 0 && given < bytes.size()) {
      size_t n = std::min(bytes.size() - given, kMaxZlibChunk);
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data() + given));
      z.avail_in = uInt(n);
      given += n;
    }
    z.next_out = reinterpret_cast<Bytef*>(chunk.data());
    z.avail_out = uInt(chunk.size());
    rc = deflate(&z, given == bytes.size() ? Z_FINISH : Z_NO_FLUSH);
    if (rc == Z_STREAM_ERROR) break;
    out.append(chunk.data(), chunk.size() - z.avail_out);
  }
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("gzip compression failed");
  return out;
}

}  // namespace netc

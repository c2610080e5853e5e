#include "idx.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "atomic_file.h"
#include "gzip.h"
#include "input_error.h"

namespace netc {
namespace {

constexpr uint32_t kImagesMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr uint32_t kLabelsMagic = 0x00000801;  // unsigned bytes, 1 dimension
constexpr size_t kFirstChunk = 1 << 20;

[[noreturn]] void fail(const DecompressingReader& in, const std::string& problem) {
  throw InputError(in.path() + ": " + problem);
}

uint32_t load_be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

void store_be32(std::string& out, uint64_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += char((v >> shift) & 0xff);
}

const char* kind_of(uint32_t magic) { return magic == kImagesMagic ? "image" : "label"; }

// The magic number and then `dims` sizes.
std::vector<uint64_t> read_header(DecompressingReader& in, uint32_t magic, int dims) {
  uint8_t header[16];
  const size_t want = 4 + 4 * size_t(dims);
  const size_t got = in.read(header, want);
  if (got == 0) fail(in, "the file is empty");
  const uint32_t found = got >= 4 ? load_be32(header) : magic;  // a wrong magic says more than a short file
  if (found != magic) {
    std::string hint = found == kImagesMagic || found == kLabelsMagic
                           ? fmt::format(" (it is an IDX {} file)", kind_of(found))
                           : "";
    fail(in, fmt::format("not an IDX {} file: its magic number is 0x{:08x}, expected 0x{:08x}{}", kind_of(magic),
                         found, magic, hint));
  }
  if (got < want)
    fail(in, fmt::format("too short for an IDX {} file: {} bytes, the header alone takes {}", kind_of(magic), got,
                         want));
  std::vector<uint64_t> sizes;
  for (int d = 0; d < dims; ++d) sizes.push_back(load_be32(header + 4 + 4 * d));
  return sizes;
}

// Up to `limit` bytes. The buffer at most doubles per round and only after
// the previous round filled it, so memory follows the data that is really
// there: a tiny file whose header claims gigabytes costs a megabyte. Room
// for what the file is expected to hold is reserved at once, so that a data
// set is read in place rather than copied as the buffer grows (reserved
// pages cost no memory until they are filled).
std::vector<uint8_t> read_up_to(DecompressingReader& in, uint64_t limit) {
  std::vector<uint8_t> data;
  data.reserve(size_t(std::min(limit, in.expected_remaining())));
  while (data.size() < limit) {
    const size_t old = data.size();
    const size_t chunk = size_t(std::min<uint64_t>(limit - old, std::max(old, kFirstChunk)));
    data.resize(old + chunk);
    const size_t got = in.read(data.data() + old, chunk);
    data.resize(old + got);
    if (got < chunk) break;
  }
  return data;
}

bool has_more(DecompressingReader& in) {
  uint8_t byte;
  return in.read(&byte, 1) == 1;
}

// The data after the header, exactly `expected` bytes of it, for `what`
// (e.g. "60000 images of 28 x 28").
std::vector<uint8_t> read_data(DecompressingReader& in, uint64_t expected, const std::string& what) {
  std::vector<uint8_t> data = read_up_to(in, expected);
  if (data.size() < expected)
    fail(in, fmt::format("truncated: its header declares {} ({} bytes) but only {} bytes follow", what, expected,
                         data.size()));
  if (has_more(in))
    fail(in, fmt::format("more data than its header declares ({}): a wrong count or trailing bytes", what));
  return data;
}

void write_idx(const std::string& path, const std::string& header, const std::vector<uint8_t>& data, bool gzip) {
  std::string bytes = header;
  bytes.append(data.begin(), data.end());
  write_file_atomically(path, gzip ? gzip_compress(bytes) : bytes);
}

void check_header_size(int64_t v, const char* what) {
  if (v < 0 || v > int64_t(UINT32_MAX))
    throw std::invalid_argument(fmt::format("IDX {} {} does not fit a 32-bit header field", what, v));
}

}  // namespace

IdxImages read_idx_images(const std::string& path) {
  DecompressingReader in(path);
  const std::vector<uint64_t> dims = read_header(in, kImagesMagic, 3);
  const uint64_t count = dims[0], rows = dims[1], cols = dims[2];
  if (rows == 0 || cols == 0) fail(in, fmt::format("its header declares images of {} x {} pixels", rows, cols));
  const std::string what = fmt::format("{} images of {} x {}", count, rows, cols);
  // rows * cols < 2^64 as both are 32-bit; the division keeps count * rows * cols from overflowing.
  if (count > kMaxIdxDataBytes / (rows * cols))
    fail(in, fmt::format("its header declares {}, more than the {} bytes netc accepts", what, kMaxIdxDataBytes));
  IdxImages images{int64_t(count), int64_t(rows), int64_t(cols), {}};
  images.pixels = read_data(in, count * rows * cols, what);
  return images;
}

std::vector<uint8_t> read_idx_labels(const std::string& path, int64_t num_classes) {
  if (num_classes < 1) throw std::invalid_argument("read_idx_labels: num_classes must be positive");
  DecompressingReader in(path);
  const uint64_t count = read_header(in, kLabelsMagic, 1)[0];
  const std::string what = fmt::format("{} labels", count);
  if (count > kMaxIdxDataBytes)
    fail(in, fmt::format("its header declares {}, more than the {} netc accepts", what, kMaxIdxDataBytes));
  std::vector<uint8_t> labels = read_data(in, count, what);
  auto bad = std::find_if(labels.begin(), labels.end(), [&](uint8_t l) { return l >= num_classes; });
  if (bad != labels.end())
    fail(in, fmt::format("label {} (of item {}) is out of range: the graph has {} classes, 0 to {}", *bad,
                         bad - labels.begin(), num_classes, num_classes - 1));
  return labels;
}

void write_idx_images(const std::string& path, const IdxImages& images, bool gzip) {
  check_header_size(images.count, "image count");
  check_header_size(images.rows, "rows");
  check_header_size(images.cols, "cols");
  if (images.pixels.size() != uint64_t(images.count) * uint64_t(images.rows) * uint64_t(images.cols))
    throw std::invalid_argument(fmt::format("write_idx_images: {} pixels for {} images of {} x {}",
                                            images.pixels.size(), images.count, images.rows, images.cols));
  std::string header;
  for (uint64_t v : {uint64_t(kImagesMagic), uint64_t(images.count), uint64_t(images.rows), uint64_t(images.cols)})
    store_be32(header, v);
  write_idx(path, header, images.pixels, gzip);
}

void write_idx_labels(const std::string& path, const std::vector<uint8_t>& labels, bool gzip) {
  check_header_size(int64_t(labels.size()), "label count");
  std::string header;
  store_be32(header, kLabelsMagic);
  store_be32(header, labels.size());
  write_idx(path, header, labels, gzip);
}

}  // namespace netc

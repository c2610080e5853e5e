// IDX files (the format of MNIST and its look-alikes): unsigned-byte images
// (magic 0x00000803, dims count x rows x cols) and labels (magic 0x00000801,
// dim count), big-endian header, raw or gzip-compressed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace netc {

struct IdxImages {
  int64_t count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // count x rows x cols, row-major
};

// The most pixel or label bytes one IDX file may hold: 2 GiB, 45 times the
// MNIST training set, and within reach of 32-bit image indices.
inline constexpr uint64_t kMaxIdxDataBytes = uint64_t(1) << 31;

// Read a file whose header must match its data exactly; every problem
// (wrong magic, truncated or overlong data, a count beyond kMaxIdxDataBytes,
// corrupt gzip) is an InputError naming the file. Memory grows with the data
// actually read, never with what a header claims.
IdxImages read_idx_images(const std::string& path);
// Also an InputError: a label >= num_classes.
std::vector<uint8_t> read_idx_labels(const std::string& path, int64_t num_classes);

// Atomic writes, gzip-compressed if `gzip`. std::invalid_argument if the
// sizes disagree or do not fit an IDX header.
void write_idx_images(const std::string& path, const IdxImages& images, bool gzip);
void write_idx_labels(const std::string& path, const std::vector<uint8_t>& labels, bool gzip);

}  // namespace netc

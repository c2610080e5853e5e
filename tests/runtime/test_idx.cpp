#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>

#include <catch2/catch.hpp>

#include "gzip.h"
#include "idx.h"
#include "input_error.h"
#include "temp_dir.h"

using namespace netc;
using Catch::Matchers::Contains;

namespace {

IdxImages sample_images(int64_t count, int64_t rows, int64_t cols) {
  IdxImages im{count, rows, cols, std::vector<uint8_t>(size_t(count * rows * cols))};
  for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = uint8_t(i * 37 + 11);
  return im;
}

std::string be32(uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }

std::string images_header(uint32_t count, uint32_t rows, uint32_t cols) {
  return be32(0x803) + be32(count) + be32(rows) + be32(cols);
}

// The largest memory this test process has used, in bytes.
long peak_memory() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss * 1024L;
}

// How much more memory than its `bytes` of pixels reading `path` peaks at,
// measured in a child process of its own (whose peak starts at its size).
double peak_over_data(const std::string& path, uint64_t bytes) {
  int out[2];
  REQUIRE(pipe(out) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const long before = peak_memory();
    const IdxImages images = read_idx_images(path);
    const double ratio = double(peak_memory() - before) / double(bytes);
    _exit(write(out[1], &ratio, sizeof ratio) == sizeof ratio && images.pixels.size() == bytes ? 0 : 1);
  }
  close(out[1]);
  double ratio = 0;
  const bool got = read(out[0], &ratio, sizeof ratio) == sizeof ratio;
  close(out[0]);
  int status = 0;
  waitpid(child, &status, 0);
  REQUIRE((got && WIFEXITED(status) && WEXITSTATUS(status) == 0));
  return ratio;
}

}  // namespace

TEST_CASE("idx: a data set is read in place, its memory at most 1.1 times its size, raw and gzip", "[idx]") {
  test::TempDir dir;
  // MNIST's training images in size (47 MB) and about in compressibility:
  // four pixels in five blank, the others random (gzip: 5 times smaller).
  IdxImages im{60000, 28, 28, std::vector<uint8_t>(size_t(60000) * 28 * 28)};
  std::mt19937 random(7);
  for (uint8_t& pixel : im.pixels) pixel = random() % 5 == 0 ? uint8_t(random()) : 0;
  for (bool gzip : {false, true}) {
    write_idx_images(dir / "images", im, gzip);
    const double ratio = peak_over_data(dir / "images", im.pixels.size());
    INFO((gzip ? "gzip" : "raw") << ": the peak grew by " << ratio << " times the pixels' size");
#if defined(__SANITIZE_ADDRESS__)
    CHECK(ratio < 1.1 + 0.125);  // AddressSanitizer's shadow: an eighth of the memory touched
#else
    CHECK(ratio < 1.1);
#endif
  }
}

TEST_CASE("idx: images and labels round trip, raw and gzip", "[idx]") {
  test::TempDir dir;
  const IdxImages im = sample_images(7, 3, 5);
  const std::vector<uint8_t> labels = {0, 1, 2, 9, 9, 3, 0};
  for (bool gz : {false, true}) {
    write_idx_images(dir / "images", im, gz);
    write_idx_labels(dir / "labels", labels, gz);
    const IdxImages back = read_idx_images(dir / "images");
    CHECK(back.count == 7);
    CHECK(back.rows == 3);
    CHECK(back.cols == 5);
    CHECK(back.pixels == im.pixels);
    CHECK(read_idx_labels(dir / "labels", 10) == labels);
  }
}

TEST_CASE("idx: the exact bytes of a raw file", "[idx]") {
  test::TempDir dir;
  write_idx_images(dir / "i", IdxImages{2, 1, 2, {1, 2, 3, 4}}, false);
  CHECK(test::read_bytes(dir / "i") == images_header(2, 1, 2) + "\x01\x02\x03\x04");
  write_idx_labels(dir / "l", {5, 6}, false);
  CHECK(test::read_bytes(dir / "l") == be32(0x801) + be32(2) + "\x05\x06");
}

TEST_CASE("idx: an empty set is readable", "[idx]") {
  test::TempDir dir;
  write_idx_images(dir / "i", IdxImages{0, 28, 28, {}}, true);
  CHECK(read_idx_images(dir / "i").count == 0);
  write_idx_labels(dir / "l", {}, false);
  CHECK(read_idx_labels(dir / "l", 10).empty());
}

TEST_CASE("idx: truncated data", "[idx]") {
  test::TempDir dir;
  const std::string file = images_header(4, 2, 2) + std::string(15, 'x');
  for (bool gz : {false, true}) {
    test::write_bytes(dir / "f", gz ? gzip_compress(file) : file);
    CHECK_THROWS_AS(read_idx_images(dir / "f"), InputError);
    CHECK_THROWS_WITH(read_idx_images(dir / "f"),
                      Contains(dir / "f") && Contains("truncated") && Contains("4 images of 2 x 2 (16 bytes)") &&
                          Contains("only 15 bytes"));
  }
}

TEST_CASE("idx: headers that lie about the count", "[idx]") {
  test::TempDir dir;
  const std::string pixels(12, '\x7f');  // three 2 x 2 images
  SECTION("too many") {
    test::write_bytes(dir / "f", images_header(4, 2, 2) + pixels);
    CHECK_THROWS_WITH(read_idx_images(dir / "f"), Contains("truncated"));
  }
  SECTION("too few") {
    test::write_bytes(dir / "f", images_header(2, 2, 2) + pixels);
    CHECK_THROWS_WITH(read_idx_images(dir / "f"), Contains("more data than its header declares"));
  }
  SECTION("trailing garbage after compressed data's end") {
    test::write_bytes(dir / "f", gzip_compress(images_header(3, 2, 2) + pixels + "\n"));
    CHECK_THROWS_WITH(read_idx_images(dir / "f"), Contains("more data than its header declares"));
  }
  SECTION("labels") {
    test::write_bytes(dir / "l", be32(0x801) + be32(5) + "\x01\x02");
    CHECK_THROWS_WITH(read_idx_labels(dir / "l", 10), Contains("5 labels (5 bytes) but only 2 bytes follow"));
    test::write_bytes(dir / "l", be32(0x801) + be32(1) + "\x01\x02");
    CHECK_THROWS_WITH(read_idx_labels(dir / "l", 10), Contains("more data than its header declares (1 labels)"));
  }
}

TEST_CASE("idx: wrong magic, empty and short files", "[idx]") {
  test::TempDir dir;
  write_idx_labels(dir / "labels", {1, 2}, true);
  CHECK_THROWS_WITH(read_idx_images(dir / "labels"),
                    Contains("not an IDX image file") && Contains("0x00000801") && Contains("it is an IDX label file"));
  write_idx_images(dir / "images", sample_images(1, 1, 1), false);
  CHECK_THROWS_WITH(read_idx_labels(dir / "images", 10), Contains("it is an IDX image file"));
  test::write_bytes(dir / "png", "\x89PNG\r\n\x1a\n and more bytes than a header");
  CHECK_THROWS_WITH(read_idx_images(dir / "png"), Contains("magic number is 0x89504e47, expected 0x00000803"));
  test::write_bytes(dir / "empty", "");
  CHECK_THROWS_WITH(read_idx_images(dir / "empty"), Contains(dir / "empty") && Contains("empty"));
  test::write_bytes(dir / "short", be32(0x803) + be32(1));
  CHECK_THROWS_WITH(read_idx_images(dir / "short"), Contains("too short") && Contains("8 bytes"));
  CHECK_THROWS_AS(read_idx_images(dir / "missing"), InputError);
}

TEST_CASE("idx: images with no rows or columns", "[idx]") {
  test::TempDir dir;
  test::write_bytes(dir / "f", images_header(3, 0, 28));
  CHECK_THROWS_WITH(read_idx_images(dir / "f"), Contains("0 x 28"));
}

TEST_CASE("idx: labels out of range", "[idx]") {
  test::TempDir dir;
  write_idx_labels(dir / "l", {0, 1, 9, 10, 3}, false);
  CHECK_THROWS_AS(read_idx_labels(dir / "l", 10), InputError);
  CHECK_THROWS_WITH(read_idx_labels(dir / "l", 10),
                    Contains("label 10 (of item 3) is out of range") && Contains("10 classes, 0 to 9"));
  CHECK(read_idx_labels(dir / "l", 11).size() == 5);
}

TEST_CASE("idx: absurd counts fail fast and in little memory", "[idx]") {
  test::TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  SECTION("beyond the limit: refused from the header alone") {
    test::write_bytes(dir / "f", gzip_compress(images_header(0x80000000u, 28, 28) + std::string(100, '\0')));
    CHECK_THROWS_WITH(read_idx_images(dir / "f"), Contains("2147483648 images of 28 x 28") && Contains("more than"));
    test::write_bytes(dir / "l", gzip_compress(be32(0x801) + be32(0xffffffffu)));
    CHECK_THROWS_WITH(read_idx_labels(dir / "l", 10), Contains("4294967295 labels") && Contains("more than"));
  }
  SECTION("just within the limit: memory follows the data, not the header") {
    const uint32_t count = uint32_t(kMaxIdxDataBytes / 784);  // 1.9 GiB claimed
    test::write_bytes(dir / "f", gzip_compress(images_header(count, 28, 28) + std::string(100, '\0')));
    CHECK_THROWS_WITH(read_idx_images(dir / "f"), Contains("truncated"));
    CHECK(peak_memory() < (256L << 20));
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
}

TEST_CASE("idx: writers refuse inconsistent sizes", "[idx]") {
  test::TempDir dir;
  CHECK_THROWS_AS(write_idx_images(dir / "f", IdxImages{2, 2, 2, std::vector<uint8_t>(7)}, false),
                  std::invalid_argument);
  CHECK_THROWS_AS(write_idx_images(dir / "f", IdxImages{-1, 2, 2, {}}, false), std::invalid_argument);
}

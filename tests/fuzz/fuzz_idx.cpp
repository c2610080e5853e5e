// The IDX reader (runtime/idx.h) on arbitrary files, raw or gzip: every input
// is read both as an image file and as a label file of 10 classes. A result
// must match its header; a rejection must be an InputError naming the file.
#include <algorithm>
#include <string>

#include "fuzz_support.h"
#include "idx.h"
#include "input_error.h"

namespace netc::fuzz {
namespace {

constexpr int64_t kClasses = 10;

void check_error(const std::string& path, const InputError& e) {
  const std::string message = e.what();
  require_one_line(message);
  require(message.rfind(path + ": ", 0) == 0 || message.rfind("cannot read " + path, 0) == 0,
          "message does not name the file: " + message);
}

void read_as_images(const std::string& path) {
  try {
    const IdxImages images = read_idx_images(path);
    require(images.rows >= 1 && images.cols >= 1, "images without pixels");
    require(uint64_t(images.pixels.size()) == uint64_t(images.count * images.rows * images.cols),
            "pixel count differs from the header");
  } catch (const InputError& e) {
    check_error(path, e);
  }
}

void read_as_labels(const std::string& path) {
  try {
    const std::vector<uint8_t> labels = read_idx_labels(path, kClasses);
    require(std::all_of(labels.begin(), labels.end(), [](uint8_t l) { return l < kClasses; }),
            "a label out of range was accepted");
  } catch (const InputError& e) {
    check_error(path, e);
  }
}

}  // namespace
}  // namespace netc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static netc::fuzz::InMemoryFile file;
  const std::string& path = file.hold(data, size);
  netc::fuzz::read_as_images(path);
  netc::fuzz::read_as_labels(path);
  return 0;
}

// The image readers (runtime/image.h: PNG through libpng, PGM P2 and P5) on
// arbitrary bytes, and each image read converted to a small gray and RGB
// input. An image must have the size and sample count it claims, samples in
// [0, 1]; a rejection must be an InputError naming the file on one line.
#include <cmath>
#include <string>

#include "fuzz_support.h"
#include "image.h"
#include "input_error.h"

namespace netc::fuzz {
namespace {

void check_input(const std::vector<float>& input, size_t size) {
  require(input.size() == size, "input of the wrong size");
  for (float v : input) require(v >= -1e-5f && v <= 1 + 1e-5f, "an input value outside [0, 1]");
}

void read(const std::string& bytes) {
  const std::string path = "fuzz-input";
  try {
    const Image image = decode_image(bytes, path);
    require(image.width >= 1 && image.height >= 1 && image.width * image.height <= kMaxImagePixels,
            "an image without pixels or past the limit");
    require(image.channels == 1 || image.channels == 3, "an image of neither 1 nor 3 channels");
    require(image.samples.size() == size_t(image.width * image.height * image.channels), "samples differ from the size");
    for (float v : image.samples) require(v >= 0 && v <= 1, "a sample outside [0, 1]");
    check_input(image_to_input(image, 1, 7, 5), 7 * 5);
    check_input(image_to_input(image, 3, 4, 9), 3 * 4 * 9);
  } catch (const InputError& e) {
    const std::string message = e.what();
    require_one_line(message);
    require(message.rfind(path + ": ", 0) == 0, "message does not name the file: " + message);
  }
}

}  // namespace
}  // namespace netc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  netc::fuzz::read(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}

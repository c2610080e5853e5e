// Image files for netc predict's tests: PGM written by hand, PNG through
// libpng's simplified writer.
#pragma once

#include <png.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "temp_dir.h"

namespace netc::test {

// A binary (P5) or plain (P2) 8-bit PGM of `pixels` (rows of `width`).
inline void write_pgm(const std::string& path, const std::vector<uint8_t>& pixels, int width, int height,
                      bool plain = false) {
  std::string text = (plain ? "P2\n" : "P5\n") + std::to_string(width) + " " + std::to_string(height) + "\n255\n";
  if (plain)
    for (uint8_t p : pixels) text += std::to_string(p) + "\n";
  else
    text.append(pixels.begin(), pixels.end());
  write_bytes(path, text);
}

// An 8-bit PNG of `channels` 1 (gray) or 3 (RGB) interleaved samples.
inline void write_png(const std::string& path, const std::vector<uint8_t>& samples, int width, int height,
                      int channels) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = uint32_t(width);
  image.height = uint32_t(height);
  image.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  if (!png_image_write_to_file(&image, path.c_str(), 0, samples.data(), 0, nullptr))
    throw std::runtime_error("cannot write " + path + ": " + image.message);
}

}  // namespace netc::test

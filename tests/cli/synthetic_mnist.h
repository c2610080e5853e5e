// A small data set in MNIST's layout (the four IDX files), for tests that
// train through the command line: image i of class c has a bright band on
// rows 2c and 2c + 1 over sparse noise, so that a few steps learn something.
#pragma once

#include <random>
#include <string>

#include "idx.h"

namespace netc::test {

inline void write_synthetic_split(const std::string& images_path, const std::string& labels_path, int64_t count,
                                  std::mt19937& rng) {
  IdxImages images{count, 28, 28, std::vector<uint8_t>(size_t(count * 28 * 28))};
  std::vector<uint8_t> labels(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const int label = int(rng() % 10);
    labels[size_t(i)] = uint8_t(label);
    uint8_t* image = &images.pixels[size_t(i * 28 * 28)];
    for (int p = 0; p < 28 * 28; ++p) image[p] = rng() % 4 == 0 ? uint8_t(rng() % 256) : 0;
    for (int p = 2 * label * 28; p < (2 * label + 2) * 28; ++p) image[p] = 255;
  }
  write_idx_images(images_path, images, false);
  write_idx_labels(labels_path, labels, false);
}

// The four files of `folder` (which must exist), from seed `seed`.
inline void write_synthetic_mnist(const std::string& folder, int64_t train_count, int64_t test_count,
                                  uint32_t seed = 1) {
  std::mt19937 rng(seed);
  write_synthetic_split(folder + "/train-images-idx3-ubyte", folder + "/train-labels-idx1-ubyte", train_count, rng);
  write_synthetic_split(folder + "/t10k-images-idx3-ubyte", folder + "/t10k-labels-idx1-ubyte", test_count, rng);
}

}  // namespace netc::test

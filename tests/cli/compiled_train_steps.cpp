// Trains a graph compiled by `netc compile` through netc_model.hpp alone, as
// `netc train --no-shuffle` does: step k takes training images
// [k*B, (k+1)*B) modulo their count. test_compile.cpp builds it against the
// compile output with pkg-config and compares the weights it saves with
// netc's, byte for byte.
//
//   compiled_train_steps INIT IMAGES LABELS STEPS LR MOMENTUM THREADS OUT
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include NETC_GRAPH_HEADER

namespace {

// The payload of an uncompressed IDX file of unsigned bytes.
std::string idx_payload(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  if (bytes.size() < 4) throw std::runtime_error(std::string("not an IDX file: ") + path);
  return bytes.substr(4 + 4 * size_t(uint8_t(bytes[3])));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 9) {
    std::fprintf(stderr, "usage: %s INIT IMAGES LABELS STEPS LR MOMENTUM THREADS OUT\n", argv[0]);
    return 2;
  }
  try {
    netc::Model model(NETC_GRAPH_FUNCTION(), argv[1]);
    netc::Model::set_threads(std::atoi(argv[7]));
    const std::string pixels = idx_payload(argv[2]), labels = idx_payload(argv[3]);
    const int64_t batch = model.graph().batch, size = model.image_size(), count = int64_t(labels.size());
    netc::OptimizerSettings sgd;
    sgd.lr = std::strtod(argv[5], nullptr);
    sgd.momentum = std::strtod(argv[6], nullptr);
    std::vector<float> images(size_t(batch * size));
    std::vector<int32_t> batch_labels(static_cast<size_t>(batch));
    for (int64_t step = 0, steps = std::atoll(argv[4]); step < steps; ++step) {
      for (int64_t k = 0; k < batch; ++k) {
        const int64_t image = (step * batch + k) % count;
        for (int64_t p = 0; p < size; ++p)
          images[size_t(k * size + p)] = float(uint8_t(pixels[size_t(image * size + p)])) / 255.f;
        batch_labels[size_t(k)] = uint8_t(labels[size_t(image)]);
      }
      const float loss = model.train_step(images.data(), batch_labels.data(), sgd);
      std::printf("step %lld: loss %.6f\n", (long long)step + 1, double(loss));
    }
    model.save_weights(argv[8]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}

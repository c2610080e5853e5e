// model_abi.h: how a pipeline that netc compiled is called, for every caller:
// the runtime (compiled_model.h, device_training.h), the header-only API that
// `netc compile` ships (netc_model.hpp) and the headers it generates.
//
// Header-only and standalone (the C++17 standard library alone), since
// `netc compile` copies it into its output next to netc_model.hpp. The
// compiler makes the pipelines this way (its compiler/lower/pipeline.h).
//
// Buffers are Halide's halide_buffer_t, with Halide's dimensions: PyTorch's
// layout reversed (images x, y, c, n).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

struct halide_buffer_t;  // HalideRuntime.h

namespace netc {

// One parameter of a graph, as the manifest and the generated headers list it.
struct ParameterSpec {
  std::string name;            // "cnn1.weight"
  std::vector<int64_t> shape;  // PyTorch's layout
  int64_t fan_in = 1;          // PyTorch's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
  int64_t size() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// PyTorch's SGD settings: the train step's scalar arguments.
struct Sgd {
  float lr = 0.01f, momentum = 0, weight_decay = 0;
  bool nesterov = false;
};

// The train step: images (x, y, c, n) f32, labels (n) i32, the SGD settings,
// each parameter with its momentum (in the manifest's order), then the
// outputs: the batch's mean loss (0-dim f32) and each updated parameter with
// its momentum. Outputs must not alias inputs.
inline std::vector<void*> train_step_arguments(halide_buffer_t* images, halide_buffer_t* labels, Sgd& sgd,
                                               const std::vector<halide_buffer_t*>& params,
                                               const std::vector<halide_buffer_t*>& momenta, halide_buffer_t* loss,
                                               const std::vector<halide_buffer_t*>& params_out,
                                               const std::vector<halide_buffer_t*>& momenta_out) {
  std::vector<void*> args = {images, labels, &sgd.lr, &sgd.momentum, &sgd.weight_decay, &sgd.nesterov};
  for (size_t k = 0; k < params.size(); ++k) {
    args.push_back(params[k]);
    args.push_back(momenta[k]);
  }
  args.push_back(loss);
  for (size_t k = 0; k < params_out.size(); ++k) {
    args.push_back(params_out[k]);
    args.push_back(momenta_out[k]);
  }
  return args;
}
constexpr size_t train_step_argument_count(size_t params) { return 6 + 2 * params + 1 + 2 * params; }

// Inference: images, labels, each parameter, then the outputs: logits
// (classes, n) and each image's loss (n).
inline std::vector<void*> inference_arguments(halide_buffer_t* images, halide_buffer_t* labels,
                                              const std::vector<halide_buffer_t*>& params, halide_buffer_t* logits,
                                              halide_buffer_t* losses) {
  std::vector<void*> args = {images, labels};
  args.insert(args.end(), params.begin(), params.end());
  args.push_back(logits);
  args.push_back(losses);
  return args;
}
constexpr size_t inference_argument_count(size_t params) { return 2 + params + 2; }

// The batch gatherer of a GPU target, which keeps a whole data set on the
// device: pixels (x, y, image) u8 and labels (image) u8 of the set, order
// (i32): the images of consecutive batches, shifts (2, position) i32: the
// translation (dx, dy) of the image at each position of order
// (runtime/batches.h's ImageShift: pixel (x, y) moves to (x + dx, y + dy),
// zeros fill in), first: where this batch starts in order; outputs the
// batch's images (pixel / 255) and labels (i32).
inline std::vector<void*> gather_arguments(halide_buffer_t* pixels, halide_buffer_t* labels, halide_buffer_t* order,
                                           halide_buffer_t* shifts, int32_t& first, halide_buffer_t* images,
                                           halide_buffer_t* batch_labels) {
  return {pixels, labels, order, shifts, &first, images, batch_labels};
}
constexpr size_t kGatherArgumentCount = 7;

}  // namespace netc

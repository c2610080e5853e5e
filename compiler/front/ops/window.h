// Shape arithmetic shared by the sliding-window ops (conv2d, maxpool2d,
// avgpool2d): O = floor((W - K + 2P) / S) + 1 per axis, in checked 64-bit math.
#pragma once

#include <string>

#include "front/graph.h"

namespace netc {

struct Window {
  HW kernel, stride, padding;
};

// a * b, or an InputError at `loc` if it overflows int64.
int64_t checked_mul(int64_t a, int64_t b, const SourceLoc& loc);

// Kernel, stride (default: `default_stride`, or the kernel when that is 0) and
// padding (`same` needs stride 1 and an odd kernel) of `layer`.
Window read_window(const Layer& layer, HW default_stride);

// The output extent along one axis; fails at the layer when it is below 1.
int64_t window_output(const Layer& layer, const char* axis, int64_t in, int64_t k, int64_t s, int64_t p);

// The output shape for `channels` output channels, with `in` as the input.
Shape window_shape(const Layer& layer, const Window& win, const Shape& in, int64_t channels);

}  // namespace netc

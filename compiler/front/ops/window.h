// Shape arithmetic shared by the sliding-window ops (conv2d, maxpool2d,
// avgpool2d): O = floor((W - K + 2P) / S) + 1 per axis, in checked 64-bit math.
#pragma once

#include <map>
#include <string>

#include "front/graph.h"

namespace netc {

struct Window {
  HW kernel, stride, padding;
};

// a * b, or an InputError at `loc` if it overflows int64.
int64_t checked_mul(int64_t a, int64_t b, const SourceLoc& loc);

// The window of a conv2d layer (stride 1 unless given) and of a pooling
// layer (the stride is the kernel unless given): what the shape rules and
// the lowerings read.
Window conv2d_window(const Layer& layer);
Window pool_window(const Layer& layer);

// kernel_size, stride and padding set to `win` (resolved_attributes).
void set_window_attributes(const Window& win, std::map<std::string, AttrValue>& attrs);

// The output extent along one axis; fails at the layer when it is below 1.
int64_t window_output(const Layer& layer, const char* axis, int64_t in, int64_t k, int64_t s, int64_t p);

// The output shape for `channels` output channels, with `in` as the input.
Shape window_shape(const Layer& layer, const Window& win, const Shape& in, int64_t channels);

}  // namespace netc

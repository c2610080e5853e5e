#include "front/ops/window.h"

#include "front/op_spec.h"

#include <fmt/format.h>

namespace netc {

int64_t checked_mul(int64_t a, int64_t b, const SourceLoc& loc) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) fail_at(loc, fmt::format("size {} x {} overflows 64 bits", a, b));
  return r;
}

namespace {

// Kernel, stride (default: `default_stride`, or the kernel when that is 0) and
// padding (`same` needs stride 1 and an odd kernel) of `layer`.
Window read_window(const Layer& layer, HW default_stride) {
  Window win;
  win.kernel = layer.pair_attr("kernel_size", {1, 1});
  HW stride_default = (default_stride.h == 0) ? win.kernel : default_stride;
  win.stride = layer.pair_attr("stride", stride_default);
  if (!layer.has("padding")) return win;
  const AttrValue& pad = layer.attr("padding");
  if (pad.kind != AttrValue::Kind::String) {
    win.padding = pad.pair;
  } else if (pad.s == "valid") {
    win.padding = {0, 0};
  } else {  // same
    if (win.stride.h != 1 || win.stride.w != 1)
      fail_at(pad.loc, fmt::format("layer '{}': padding 'same' needs stride 1, got stride [{}, {}]", layer.name,
                                   win.stride.h, win.stride.w));
    if (win.kernel.h % 2 == 0 || win.kernel.w % 2 == 0)
      fail_at(pad.loc, fmt::format("layer '{}': padding 'same' needs an odd kernel, got kernel_size [{}, {}]",
                                   layer.name, win.kernel.h, win.kernel.w));
    win.padding = {(win.kernel.h - 1) / 2, (win.kernel.w - 1) / 2};
  }
  return win;
}

}  // namespace

Window conv2d_window(const Layer& layer) { return read_window(layer, {1, 1}); }

Window pool_window(const Layer& layer) { return read_window(layer, {0, 0}); }

void set_window_attributes(const Window& win, std::map<std::string, AttrValue>& attrs) {
  attrs["kernel_size"] = pair_value(win.kernel);
  attrs["stride"] = pair_value(win.stride);
  attrs["padding"] = pair_value(win.padding);
}

int64_t window_output(const Layer& layer, const char* axis, int64_t in, int64_t k, int64_t s, int64_t p) {
  // in, k, s >= 1 and p >= 0 are guaranteed by the attribute kinds; only the
  // padding can be large enough to overflow.
  int64_t padded = 0;
  if (__builtin_mul_overflow(p, 2, &padded) || __builtin_add_overflow(padded, in, &padded))
    fail_at(layer.loc_of("padding"), fmt::format("layer '{}': padding {} overflows 64 bits", layer.name, p));
  if (padded > kMaxSize)
    fail_at(layer.loc_of("padding"), fmt::format("layer '{}': the padded {} {} ({} + 2 x {}) is above netc's limit of {}",
                                                 layer.name, axis, padded, in, p, kMaxSize));
  if (padded < k)
    fail_at(layer.loc, fmt::format("layer '{}': {} kernel {} is larger than the padded input {} ({} + 2 x {}), "
                                   "so the output {} would be below 1",
                                   layer.name, axis, k, padded, in, p, axis));
  return (padded - k) / s + 1;
}

Shape window_shape(const Layer& layer, const Window& win, const Shape& in, int64_t channels) {
  Shape out;
  out.c = channels;
  out.h = window_output(layer, "height", in.h, win.kernel.h, win.stride.h, win.padding.h);
  out.w = window_output(layer, "width", in.w, win.kernel.w, win.stride.w, win.padding.w);
  checked_mul(checked_mul(out.c, out.h, layer.loc), out.w, layer.loc);
  return out;
}

}  // namespace netc

#include "front/ops/pool.h"

#include <fmt/format.h>

namespace netc {

std::vector<AttrSpec> pool_attributes() {
  return {{"kernel_size", AttrKind::Pair, true}, {"stride", AttrKind::Pair}, {"padding", AttrKind::Padding}};
}

Shape pool_shape(const Layer& layer, const std::vector<InputInfo>& inputs) {
  require_image(layer, inputs[0]);
  Window win = pool_window(layer);
  if (win.padding.h >= win.kernel.h || win.padding.w >= win.kernel.w)
    fail_at(layer.loc_of("padding"),
            fmt::format("layer '{}': padding [{}, {}] must be smaller than kernel_size [{}, {}], so that every "
                        "window holds an input cell",
                        layer.name, win.padding.h, win.padding.w, win.kernel.h, win.kernel.w));
  if (win.kernel.h * win.kernel.w > kMaxPoolWindow)
    fail_at(layer.loc_of("kernel_size"),
            fmt::format("layer '{}': kernel_size [{}, {}] has {} cells, above netc's limit of {} per pooling window",
                        layer.name, win.kernel.h, win.kernel.w, win.kernel.h * win.kernel.w, kMaxPoolWindow));
  return window_shape(layer, win, inputs[0].shape, inputs[0].shape.c);
}

}  // namespace netc

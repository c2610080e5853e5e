#include "lower/ops/pool_windows.h"

namespace netc {

void for_each_covering_window(const Window& win, const Shape& out, Halide::Expr x, Halide::Expr y,
                              const std::function<void(Halide::Expr, Halide::Expr, Halide::Expr, Halide::Expr,
                                                       Halide::Expr)>& visit) {
  const int kw = int(win.kernel.w), kh = int(win.kernel.h);
  const int sx = int(win.stride.w), sy = int(win.stride.h);
  const int px = int(win.padding.w), py = int(win.padding.h);
  // Window o covers inputs [o*s - p, o*s - p + k): the last one starting at or
  // before x is floor((x + p) / s); earlier ones may still reach x.
  Halide::Expr last_x = (x + px) / sx, last_y = (y + py) / sy;
  for (int dy = 0; dy < (kh + sy - 1) / sy; ++dy) {
    for (int dx = 0; dx < (kw + sx - 1) / sx; ++dx) {
      Halide::Expr ox = last_x - dx, oy = last_y - dy;
      Halide::Expr kx = x + px - ox * sx, ky = y + py - oy * sy;
      Halide::Expr valid = ox >= 0 && ox < int(out.w) && oy >= 0 && oy < int(out.h) && kx < kw && ky < kh;
      visit(Halide::clamp(ox, 0, int(out.w) - 1), Halide::clamp(oy, 0, int(out.h) - 1), kx, ky, valid);
    }
  }
}

}  // namespace netc

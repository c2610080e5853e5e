#include "lower/ops/pool_windows.h"

namespace netc {
namespace {

// Calls `visit(ox, oy, kx, ky, valid)` for each output window (ox, oy) that
// may cover input position (x, y): the candidates are the ceil(k / s) windows
// per axis ending at or after it; `valid` says whether it really covers it,
// and (kx, ky) is the input's offset inside that window. ox, oy are clamped
// into the output so that reading there is always in bounds.
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

}  // namespace

Halide::Expr gathered_gradient(const LayerLowering& l, const Window& win, const PoolRoute& route) {
  const auto& v = kVars;
  Halide::Expr sum = l.constant(0);
  for_each_covering_window(win, l.out_shape, v.x, v.y,
                           [&](Halide::Expr ox, Halide::Expr oy, Halide::Expr kx, Halide::Expr ky, Halide::Expr valid) {
                             Halide::Expr routed = valid && route(ox, oy, kx, ky);
                             sum += Halide::select(routed, l.grad_output(ox, oy, v.c, v.n), l.constant(0));
                           });
  return sum;
}

}  // namespace netc

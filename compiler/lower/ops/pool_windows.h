// What the lowerings of maxpool2d and avgpool2d share: the enumeration of the
// windows that cover an input position (their adjoints are gathers over
// those windows, not scatters).
#pragma once

#include <functional>

#include "front/ops/window.h"
#include "lower/op_lowering.h"

namespace netc {

// Calls `visit(ox, oy, kx, ky, valid)` for each output window (ox, oy) that
// may cover input position (x, y): the candidates are the ceil(k / s) windows
// per axis ending at or after it; `valid` says whether it really covers it,
// and (kx, ky) is the input's offset inside that window. ox, oy are clamped
// into the output so that reading there is always in bounds.
void for_each_covering_window(const Window& win, const Shape& out, Halide::Expr x, Halide::Expr y,
                              const std::function<void(Halide::Expr ox, Halide::Expr oy, Halide::Expr kx,
                                                       Halide::Expr ky, Halide::Expr valid)>& visit);

}  // namespace netc

// What the lowerings of maxpool2d and avgpool2d share: their adjoints are
// gathers over the windows that cover an input position, not scatters.
#pragma once

#include <functional>

#include "front/ops/window.h"
#include "lower/op_lowering.h"

namespace netc {

// The gradient of input (x, y, c, n) = v.x, v.y, v.c, v.n of a pooling layer:
// the sum of the output's gradient over the windows that cover the input and
// `route` to it. `route(ox, oy, kx, ky)` says whether window (ox, oy), which
// holds the input at offset (kx, ky), sends its gradient there.
using PoolRoute = std::function<Halide::Expr(Halide::Expr ox, Halide::Expr oy, Halide::Expr kx, Halide::Expr ky)>;
Halide::Expr gathered_gradient(const LayerLowering& l, const Window& win, const PoolRoute& route);

}  // namespace netc

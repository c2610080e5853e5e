// maxpool2d: PyTorch's MaxPool2d. Padded cells never win; the gradient goes
// to the window's first maximum (row-major), as PyTorch routes it.
#include <limits>

#include "lower/ops/pool_windows.h"

namespace netc {
namespace {

using Halide::Expr;
using Halide::Func;

class MaxPool2d : public OpLowering {
 public:
  void forward(LayerLowering& l) const override {
    const auto& v = kVars;
    Window win = pool_window(l.layer);
    const Shape& in = l.in_shapes[0];
    Func input = l.input_stage("padded_input", 0);
    define_padded(input, l.inputs[0], in.w, in.h, l.constant(-std::numeric_limits<double>::infinity()));

    // A max() tree and a first-maximum index, unrolled over the (small)
    // window: Halide cannot differentiate maximum(RDom), and the index is
    // what the adjoint gathers by.
    Expr best, best_index;
    for (int ky = 0; ky < int(win.kernel.h); ++ky) {
      for (int kx = 0; kx < int(win.kernel.w); ++kx) {
        Expr value = input(v.x * int(win.stride.w) + kx - int(win.padding.w),
                           v.y * int(win.stride.h) + ky - int(win.padding.h), v.c, v.n);
        Expr index = ky * int(win.kernel.w) + kx;
        if (!best.defined()) {
          best = value;
          best_index = index;
        } else {
          best_index = Halide::select(value > best, index, best_index);
          best = Halide::max(best, value);
        }
      }
    }
    Func argmax = l.output_stage("argmax");
    argmax(v.x, v.y, v.c, v.n) = best_index;
    Func out = l.output_stage("forward");
    out(v.x, v.y, v.c, v.n) = best;
    l.output = out;
  }

  void adjoint(LayerLowering& l) const override {
    if (!l.needs_grad_input(0)) return;
    const auto& v = kVars;
    Window win = pool_window(l.layer);
    Func argmax = l.stage_of("argmax");
    // The window's first maximum wins its gradient.
    Expr sum = gathered_gradient(l, win, [&](Expr ox, Expr oy, Expr kx, Expr ky) {
      return argmax(ox, oy, v.c, v.n) == ky * int(win.kernel.w) + kx;
    });
    Func gi = l.input_stage("grad_input", 0);
    gi(v.x, v.y, v.c, v.n) = sum;
    l.grad_inputs[0] = gi;
  }
};

}  // namespace

const OpLowering& maxpool2d_lowering() {
  static const MaxPool2d lowering;
  return lowering;
}

}  // namespace netc

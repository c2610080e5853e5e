// avgpool2d: PyTorch's AvgPool2d with count_include_pad=True: padded cells
// count as zeros and every window divides by kh * kw.
#include "lower/ops/pool_windows.h"

namespace netc {
namespace {

using Halide::Expr;
using Halide::Func;

class AvgPool2d : public OpLowering {
 public:
  void forward(LayerLowering& l) const override {
    const auto& v = kVars;
    Window win = pool_window(l.layer);
    const Shape& in = l.in_shapes[0];
    Func input = l.input_stage("padded_input", 0);
    define_padded(input, l.inputs[0], in.w, in.h, l.constant(0));
    Expr sum = l.constant(0);
    for (int ky = 0; ky < int(win.kernel.h); ++ky)
      for (int kx = 0; kx < int(win.kernel.w); ++kx)
        sum += input(v.x * int(win.stride.w) + kx - int(win.padding.w),
                     v.y * int(win.stride.h) + ky - int(win.padding.h), v.c, v.n);
    Func out = l.output_stage("forward");
    out(v.x, v.y, v.c, v.n) = sum / l.constant(double(win.kernel.h * win.kernel.w));
    l.output = out;
  }

  void adjoint(LayerLowering& l) const override {
    if (!l.needs_grad_input(0)) return;
    const auto& v = kVars;
    Window win = pool_window(l.layer);
    Expr sum = gathered_gradient(l, win, [](Expr, Expr, Expr, Expr) { return Halide::cast(Halide::Bool(), 1); });
    Func gi = l.input_stage("grad_input", 0);
    gi(v.x, v.y, v.c, v.n) = sum / l.constant(double(win.kernel.h * win.kernel.w));
    l.grad_inputs[0] = gi;
  }
};

}  // namespace

const OpLowering& avgpool2d_lowering() {
  static const AvgPool2d lowering;
  return lowering;
}

}  // namespace netc

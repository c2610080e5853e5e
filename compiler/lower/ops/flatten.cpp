// flatten: C x H x W becomes C*H*W features, index c*H*W + h*W + w, which is
// the same memory as the image (PyTorch's view(N, -1) on NCHW).
#include "lower/op_lowering.h"

namespace netc {
namespace {

class Flatten : public OpLowering {
 public:
  void forward(LayerLowering& l) const override {
    const auto& v = kVars;
    const Shape& in = l.in_shapes[0];
    Halide::Func out = l.output_stage("forward");
    if (in.flat) {
      out(v.i, v.n) = l.inputs[0](v.i, v.n);
    } else {
      const int w = int(in.w), hw = int(in.h * in.w);
      out(v.i, v.n) = l.inputs[0](v.i % w, (v.i / w) % int(in.h), v.i / hw, v.n);
    }
    l.output = out;
  }

  void adjoint(LayerLowering& l) const override {
    if (!l.needs_grad_input(0)) return;
    const auto& v = kVars;
    const Shape& in = l.in_shapes[0];
    Halide::Func gi = l.input_stage("grad_input", 0);
    if (in.flat)
      gi(v.i, v.n) = l.grad_output(v.i, v.n);
    else
      gi(v.x, v.y, v.c, v.n) = l.grad_output(v.x + int(in.w) * (v.y + int(in.h) * v.c), v.n);
    l.grad_inputs[0] = gi;
  }
};

}  // namespace

const OpLowering& flatten_lowering() {
  static const Flatten lowering;
  return lowering;
}

}  // namespace netc

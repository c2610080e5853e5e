// linear: PyTorch's Linear, y = x W^T + b with weight [out, in].
#include "lower/op_lowering.h"

namespace netc {
namespace {

using Halide::Func;
using Halide::RDom;

class Linear : public OpLowering {
 public:
  void forward(LayerLowering& l) const override {
    const auto& v = kVars;
    RDom r(0, int(l.in_shapes[0].c), "r");
    Func out = l.output_stage("forward");
    out(v.o, v.n) = l.has_param("bias") ? l.param("bias")(v.o) : l.constant(0);
    out(v.o, v.n) += l.param("weight")(r, v.o) * l.inputs[0](r, v.n);
    l.output = out;
  }

  void adjoint(LayerLowering& l) const override {
    const auto& v = kVars;
    const Func& g = l.grad_output;
    RDom rn(0, int(l.batch), "rn");
    if (l.has_param("bias")) {
      Func gb = l.stage("grad_bias", {l.out_shape.c});
      gb(v.o) = l.constant(0);
      gb(v.o) += g(v.o, rn);
      l.grad_params["bias"] = gb;
    }
    Func gw = l.stage("grad_weight", {l.in_shapes[0].c, l.out_shape.c});
    gw(v.i, v.o) = l.constant(0);
    gw(v.i, v.o) += g(v.o, rn) * l.inputs[0](v.i, rn);
    l.grad_params["weight"] = gw;

    if (!l.needs_grad_input(0)) return;
    RDom ro(0, int(l.out_shape.c), "ro");
    Func gi = l.input_stage("grad_input", 0);
    gi(v.i, v.n) = l.constant(0);
    gi(v.i, v.n) += l.param("weight")(v.i, ro) * g(ro, v.n);
    l.grad_inputs[0] = gi;
  }
};

}  // namespace

const OpLowering& linear_lowering() {
  static const Linear lowering;
  return lowering;
}

}  // namespace netc

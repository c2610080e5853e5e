// Base of the lowerings of the one-input elementwise ops (relu, leaky_relu,
// tanh, sigmoid): each gives only its value and its local derivative.
#pragma once

#include "lower/op_lowering.h"

namespace netc {

class ElementwiseLowering : public OpLowering {
 public:
  void forward(LayerLowering& l) const override {
    auto args = l.output_vars();
    Halide::Func out = l.output_stage("forward");
    out(args) = value(l, l.inputs[0](args));
    l.output = out;
  }

  void adjoint(LayerLowering& l) const override {
    if (!l.needs_grad_input(0)) return;
    auto args = l.output_vars();
    Halide::Func gi = l.input_stage("grad_input", 0);
    gi(args) = gradient(l, l.inputs[0](args), l.output(args), l.grad_output(args));
    l.grad_inputs[0] = gi;
  }

 protected:
  // The output for input `in`.
  virtual Halide::Expr value(const LayerLowering& l, Halide::Expr in) const = 0;
  // The input's gradient from the input, the output and the output's gradient.
  virtual Halide::Expr gradient(const LayerLowering& l, Halide::Expr in, Halide::Expr out,
                                Halide::Expr grad) const = 0;
};

}  // namespace netc

// add: the elementwise sum of two or more inputs of identical shape; each
// input's gradient is the output's.
#include "lower/op_lowering.h"

namespace netc {
namespace {

class Add : public OpLowering {
 public:
  void forward(LayerLowering& l) const override {
    auto args = l.output_vars();
    Halide::Expr sum = l.inputs[0](args);
    for (size_t k = 1; k < l.inputs.size(); ++k) sum += l.inputs[k](args);
    Halide::Func out = l.output_stage("forward");
    out(args) = sum;
    l.output = out;
  }

  void adjoint(LayerLowering& l) const override {
    for (size_t k = 0; k < l.inputs.size(); ++k)
      if (l.needs_grad_input(k)) l.grad_inputs[k] = l.grad_output;
  }
};

}  // namespace

const OpLowering& add_lowering() {
  static const Add lowering;
  return lowering;
}

}  // namespace netc

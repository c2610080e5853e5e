// add: the elementwise sum of two or more inputs of identical shape; each
// input's gradient is the output's.
#include <climits>

#include <fmt/format.h>

#include "lower/lowering.h"

namespace netc {
namespace {

class Add : public Op {
 public:
  std::string name() const override { return "add"; }
  std::vector<std::string> passes() const override { return {"forward"}; }
  int min_inputs() const override { return 2; }
  int max_inputs() const override { return INT_MAX; }

  Shape infer_shape(const Layer& layer, const std::vector<InputInfo>& inputs) const override {
    for (const InputInfo& in : inputs)
      if (in.shape != inputs[0].shape)
        fail_at(layer.inputs_loc, fmt::format("layer '{}': add needs inputs of identical shape, but '{}' has {} "
                                              "and '{}' has {}",
                                              layer.name, inputs[0].name, inputs[0].description, in.name,
                                              in.description));
    return inputs[0].shape;
  }

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

const Op& add_op() {
  static const Add op;
  return op;
}

}  // namespace netc

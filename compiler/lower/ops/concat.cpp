// concat: two or more inputs with equal H and W joined along the channels
// (or two or more vectors joined end to end).
#include "lower/op_lowering.h"

namespace netc {
namespace {

class Concat : public OpLowering {
 public:
  void forward(LayerLowering& l) const override {
    auto args = l.output_vars();
    Halide::Var& channel = args[args.size() - 2];  // c for images, i for vectors
    // Select from the last input backwards, each shifted to its offset.
    std::vector<int> offsets = channel_offsets(l);
    Halide::Expr value;
    for (size_t k = l.inputs.size(); k-- > 0;) {
      auto shifted = std::vector<Halide::Expr>(args.begin(), args.end());
      shifted[shifted.size() - 2] = Halide::clamp(channel - offsets[k], 0, int(l.in_shapes[k].c) - 1);
      Halide::Expr here = l.inputs[k](shifted);
      value = value.defined() ? Halide::select(channel < offsets[k + 1], here, value) : here;
    }
    Halide::Func out = l.output_stage("forward");
    out(args) = value;
    l.output = out;
  }

  void adjoint(LayerLowering& l) const override {
    std::vector<int> offsets = channel_offsets(l);
    for (size_t k = 0; k < l.inputs.size(); ++k) {
      if (!l.needs_grad_input(k)) continue;
      auto args = l.input_vars(k);
      auto shifted = std::vector<Halide::Expr>(args.begin(), args.end());
      shifted[shifted.size() - 2] += offsets[k];
      Halide::Func gi = l.input_stage("grad_input", k);
      gi(args) = l.grad_output(shifted);
      l.grad_inputs[k] = gi;
    }
  }

 private:
  // Where each input starts in the output's channels, plus the total.
  static std::vector<int> channel_offsets(const LayerLowering& l) {
    std::vector<int> offsets = {0};
    for (const Shape& s : l.in_shapes) offsets.push_back(offsets.back() + int(s.c));
    return offsets;
  }
};

}  // namespace

const OpLowering& concat_lowering() {
  static const Concat lowering;
  return lowering;
}

}  // namespace netc

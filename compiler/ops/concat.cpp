// concat: two or more inputs with equal H and W joined along the channels
// (or two or more vectors joined end to end).
#include <climits>

#include <fmt/format.h>

#include "lower/lowering.h"

namespace netc {
namespace {

class Concat : public Op {
 public:
  std::string name() const override { return "concat"; }
  int min_inputs() const override { return 2; }
  int max_inputs() const override { return INT_MAX; }

  Shape infer_shape(const Layer& layer, const std::vector<InputInfo>& inputs) const override {
    Shape out = inputs[0].shape;
    out.c = 0;
    for (const InputInfo& in : inputs) {
      if (in.shape.flat != out.flat || in.shape.h != out.h || in.shape.w != out.w)
        fail_at(layer.inputs_loc, fmt::format("layer '{}': concat needs inputs with equal height and width, but '{}' "
                                              "has {} and '{}' has {}",
                                              layer.name, inputs[0].name, inputs[0].description, in.name,
                                              in.description));
      if (__builtin_add_overflow(out.c, in.shape.c, &out.c))
        fail_at(layer.loc, fmt::format("layer '{}': channel count overflows 64 bits", layer.name));
    }
    return out;
  }

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

const Op& concat_op() {
  static const Concat op;
  return op;
}

}  // namespace netc

// linear: PyTorch's Linear, y = x W^T + b with weight [out, in].
#include <fmt/format.h>

#include "lower/lowering.h"

namespace netc {
namespace {

using Halide::Func;
using Halide::RDom;

class Linear : public Op {
 public:
  std::string name() const override { return "linear"; }
  std::vector<std::string> passes() const override { return {"forward", "grad_bias", "grad_weight", "grad_input"}; }

  std::vector<AttrSpec> attributes() const override {
    return {{"out_features", AttrKind::PositiveInt, true},
            {"in_features", AttrKind::PositiveInt},
            {"bias", AttrKind::Bool}};
  }

  Shape infer_shape(const Layer& layer, const std::vector<InputInfo>& inputs) const override {
    const InputInfo& in = inputs[0];
    if (!in.shape.flat)
      fail_at(layer.loc, fmt::format("layer '{}': linear needs a flat input, but '{}' gives an image {} "
                                     "(put a flatten layer before it)",
                                     layer.name, in.name, in.description));
    if (layer.has("in_features") && layer.int_attr("in_features", 0) != in.shape.c)
      fail_at(layer.loc, fmt::format("layer '{}': in_features is {} but its input '{}' has {}", layer.name,
                                     layer.int_attr("in_features", 0), in.name, in.description));
    int64_t weights = 0;
    if (__builtin_mul_overflow(layer.int_attr("out_features", 1), in.shape.c, &weights))
      fail_at(layer.loc, fmt::format("layer '{}': weight size overflows 64 bits", layer.name));
    Shape out;
    out.c = layer.int_attr("out_features", 1);
    out.flat = true;
    return out;
  }

  std::vector<ParamSpec> params(const Layer& layer, const std::vector<InputInfo>& inputs) const override {
    int64_t out = layer.int_attr("out_features", 1), in = inputs[0].shape.c;
    std::vector<ParamSpec> ps = {{layer.name + ".weight", {out, in}, 0, in}};
    if (layer.bool_attr("bias", true)) ps.push_back({layer.name + ".bias", {out}, 0, in});
    return ps;
  }

  int64_t multiply_adds(const Layer& layer, const std::vector<Shape>& inputs) const override {
    return layer.output.c * inputs[0].size();
  }

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

const Op& linear_op() {
  static const Linear op;
  return op;
}

}  // namespace netc

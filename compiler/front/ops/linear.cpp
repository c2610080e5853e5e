// linear: PyTorch's Linear, y = x W^T + b with weight [out, in].
#include <fmt/format.h>

#include "front/op_spec.h"

namespace netc {
namespace {

bool has_bias(const Layer& layer) { return layer.bool_attr("bias", true); }

class Linear : public OpSpec {
 public:
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

  std::vector<ParameterSpec> params(const Layer& layer, const std::vector<InputInfo>& inputs) const override {
    int64_t out = layer.int_attr("out_features", 1), in = inputs[0].shape.c;
    std::vector<ParameterSpec> ps = {{layer.name + ".weight", {out, in}, in}};
    if (has_bias(layer)) ps.push_back({layer.name + ".bias", {out}, in});
    return ps;
  }

  std::map<std::string, AttrValue> resolved_attributes(const Layer& layer,
                                                       const std::vector<Shape>& inputs) const override {
    std::map<std::string, AttrValue> attrs = layer.attrs;
    attrs["in_features"] = int_value(inputs[0].c);
    attrs["bias"] = bool_value(has_bias(layer));
    return attrs;
  }

  int64_t multiply_adds(const Layer& layer, const std::vector<Shape>& inputs) const override {
    return layer.output.c * inputs[0].size();
  }
};

}  // namespace

const OpSpec& linear_spec() {
  static const Linear spec;
  return spec;
}

}  // namespace netc

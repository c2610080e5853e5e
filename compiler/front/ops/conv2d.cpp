// conv2d: PyTorch's Conv2d (cross-correlation), weight [O, I, kh, kw].
#include "front/op_spec.h"
#include "front/ops/window.h"

namespace netc {
namespace {

bool has_bias(const Layer& layer) { return layer.bool_attr("bias", true); }

class Conv2d : public OpSpec {
 public:
  std::vector<std::string> passes() const override {
    return {"padded_input",       "forward",    "grad_bias", "grad_weight",        "padded_grad_output",
            "grad_input",         "patches",    "weight_matrix", "grad_weight_matrix", "grad_columns",
            "scattered_grad_input"};
  }

  std::vector<AttrSpec> attributes() const override {
    return {{"out_channels", AttrKind::PositiveInt, true},
            {"kernel_size", AttrKind::Pair, true},
            {"stride", AttrKind::Pair},
            {"padding", AttrKind::Padding},
            {"bias", AttrKind::Bool}};
  }

  Shape infer_shape(const Layer& layer, const std::vector<InputInfo>& inputs) const override {
    require_image(layer, inputs[0]);
    Window win = conv2d_window(layer);
    // The weight count must fit too: out_channels x in_channels x kh x kw.
    checked_mul(checked_mul(checked_mul(layer.int_attr("out_channels", 1), inputs[0].shape.c, layer.loc),
                            win.kernel.h, layer.loc),
                win.kernel.w, layer.loc);
    return window_shape(layer, win, inputs[0].shape, layer.int_attr("out_channels", 1));
  }

  std::vector<ParameterSpec> params(const Layer& layer, const std::vector<InputInfo>& inputs) const override {
    HW k = layer.pair_attr("kernel_size", {1, 1});
    int64_t out = layer.int_attr("out_channels", 1), in = inputs[0].shape.c;
    int64_t fan_in = in * k.h * k.w;
    std::vector<ParameterSpec> ps = {{layer.name + ".weight", {out, in, k.h, k.w}, fan_in}};
    if (has_bias(layer)) ps.push_back({layer.name + ".bias", {out}, fan_in});
    return ps;
  }

  std::map<std::string, AttrValue> resolved_attributes(const Layer& layer,
                                                       const std::vector<Shape>&) const override {
    std::map<std::string, AttrValue> attrs = layer.attrs;
    set_window_attributes(conv2d_window(layer), attrs);
    attrs["bias"] = bool_value(has_bias(layer));
    return attrs;
  }

  int64_t multiply_adds(const Layer& layer, const std::vector<Shape>& inputs) const override {
    HW k = layer.pair_attr("kernel_size", {1, 1});
    return layer.output.size() * inputs[0].c * k.h * k.w;
  }
};

}  // namespace

const OpSpec& conv2d_spec() {
  static const Conv2d spec;
  return spec;
}

}  // namespace netc

// leaky_relu: x if x > 0, else negative_slope * x (PyTorch's default slope 0.01).
#include "front/ops/elementwise.h"

namespace netc {
namespace {

class LeakyRelu : public ElementwiseSpec {
 public:
  std::vector<AttrSpec> attributes() const override { return {{"negative_slope", AttrKind::Float}}; }
  std::map<std::string, AttrValue> resolved_attributes(const Layer& layer,
                                                       const std::vector<Shape>&) const override {
    std::map<std::string, AttrValue> attrs = layer.attrs;
    attrs["negative_slope"] = float_value(negative_slope(layer));
    return attrs;
  }
};

}  // namespace

double negative_slope(const Layer& layer) { return layer.float_attr("negative_slope", 0.01); }

const OpSpec& leaky_relu_spec() {
  static const LeakyRelu spec;
  return spec;
}

}  // namespace netc

// leaky_relu: x if x > 0, else negative_slope * x (PyTorch's default slope 0.01).
#include "front/ops/elementwise.h"

namespace netc {
namespace {

class LeakyRelu : public ElementwiseSpec {
 public:
  std::vector<AttrSpec> attributes() const override { return {{"negative_slope", AttrKind::Float}}; }
};

}  // namespace

const OpSpec& leaky_relu_spec() {
  static const LeakyRelu spec;
  return spec;
}

}  // namespace netc

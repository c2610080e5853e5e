// add: the elementwise sum of two or more inputs of identical shape; each
// input's gradient is the output's.
#include <climits>

#include <fmt/format.h>

#include "front/op_spec.h"

namespace netc {
namespace {

class Add : public OpSpec {
 public:
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
};

}  // namespace

const OpSpec& add_spec() {
  static const Add spec;
  return spec;
}

}  // namespace netc

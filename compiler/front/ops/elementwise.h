// The spec of the one-input elementwise ops (relu, leaky_relu, tanh,
// sigmoid): the shape is unchanged and there are no parameters.
#pragma once

#include "front/op_spec.h"

namespace netc {

// leaky_relu's slope for negative inputs, PyTorch's default 0.01 if not given.
double negative_slope(const Layer& layer);

class ElementwiseSpec : public OpSpec {
 public:
  Shape infer_shape(const Layer&, const std::vector<InputInfo>& inputs) const override { return inputs[0].shape; }
};

}  // namespace netc

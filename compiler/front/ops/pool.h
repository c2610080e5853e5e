// What the specs of maxpool2d and avgpool2d share: attributes and the shape rule.
#pragma once

#include "front/op_spec.h"
#include "front/ops/window.h"

namespace netc {

// kernel_size (required), stride (default: the kernel) and padding.
std::vector<AttrSpec> pool_attributes();

// The shape rule; the padding must be smaller than the kernel so that every
// window holds at least one input cell (PyTorch asks for at most half).
Shape pool_shape(const Layer& layer, const std::vector<InputInfo>& inputs);

// The spec of a pooling op: `passes` are the stages its lowering makes.
class PoolSpec : public OpSpec {
 public:
  std::vector<AttrSpec> attributes() const override { return pool_attributes(); }
  Shape infer_shape(const Layer& layer, const std::vector<InputInfo>& inputs) const override {
    return pool_shape(layer, inputs);
  }
  std::map<std::string, AttrValue> resolved_attributes(const Layer& layer,
                                                       const std::vector<Shape>&) const override {
    std::map<std::string, AttrValue> attrs = layer.attrs;
    set_window_attributes(pool_window(layer), attrs);
    return attrs;
  }
};

}  // namespace netc

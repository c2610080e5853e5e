// concat: two or more inputs with equal H and W joined along the channels
// (or two or more vectors joined end to end).
#include <climits>

#include <fmt/format.h>

#include "front/op_spec.h"

namespace netc {
namespace {

class Concat : public OpSpec {
 public:
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
};

}  // namespace

const OpSpec& concat_spec() {
  static const Concat spec;
  return spec;
}

}  // namespace netc

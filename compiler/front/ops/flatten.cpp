// flatten: C x H x W becomes C*H*W features, index c*H*W + h*W + w (PyTorch's
// view(N, -1) on NCHW).
#include "front/op_spec.h"

namespace netc {
namespace {

class Flatten : public OpSpec {
 public:
  Shape infer_shape(const Layer&, const std::vector<InputInfo>& inputs) const override {
    Shape out;
    out.c = inputs[0].shape.size();
    out.flat = true;
    return out;
  }
};

}  // namespace

const OpSpec& flatten_spec() {
  static const Flatten spec;
  return spec;
}

}  // namespace netc

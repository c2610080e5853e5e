// maxpool2d: PyTorch's MaxPool2d.
#include "front/ops/pool.h"

namespace netc {
namespace {

class MaxPool2d : public PoolSpec {
 public:
  std::vector<std::string> passes() const override { return {"padded_input", "argmax", "forward", "grad_input"}; }
};

}  // namespace

const OpSpec& maxpool2d_spec() {
  static const MaxPool2d spec;
  return spec;
}

}  // namespace netc

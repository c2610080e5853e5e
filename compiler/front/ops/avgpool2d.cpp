// avgpool2d: PyTorch's AvgPool2d with count_include_pad=True.
#include "front/ops/pool.h"

namespace netc {
namespace {

class AvgPool2d : public PoolSpec {
 public:
  std::vector<std::string> passes() const override { return {"padded_input", "forward", "grad_input"}; }
};

}  // namespace

const OpSpec& avgpool2d_spec() {
  static const AvgPool2d spec;
  return spec;
}

}  // namespace netc

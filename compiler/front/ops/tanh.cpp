// tanh; its derivative 1 - tanh^2 is taken from the output, as PyTorch does.
#include "front/ops/elementwise.h"

namespace netc {

const OpSpec& tanh_spec() {
  static const ElementwiseSpec spec;
  return spec;
}

}  // namespace netc

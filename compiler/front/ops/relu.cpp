// relu: max(x, 0); the gradient passes where the input is positive.
#include "front/ops/elementwise.h"

namespace netc {

const OpSpec& relu_spec() {
  static const ElementwiseSpec spec;
  return spec;
}

}  // namespace netc

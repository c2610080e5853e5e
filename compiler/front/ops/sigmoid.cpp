// sigmoid: 1 / (1 + exp(-x)); its derivative y (1 - y) is taken from the output.
#include "front/ops/elementwise.h"

namespace netc {

const OpSpec& sigmoid_spec() {
  static const ElementwiseSpec spec;
  return spec;
}

}  // namespace netc

// tanh; its derivative 1 - tanh^2 is taken from the output, as PyTorch does.
#include "lower/ops/elementwise.h"

namespace netc {
namespace {

class Tanh : public ElementwiseLowering {
 protected:
  Halide::Expr value(const LayerLowering&, Halide::Expr in) const override { return Halide::tanh(in); }
  Halide::Expr gradient(const LayerLowering& l, Halide::Expr, Halide::Expr out, Halide::Expr grad) const override {
    return grad * (l.constant(1) - out * out);
  }
};

}  // namespace

const OpLowering& tanh_lowering() {
  static const Tanh lowering;
  return lowering;
}

}  // namespace netc

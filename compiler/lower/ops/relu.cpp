// relu: max(x, 0); the gradient passes where the input is positive.
#include "lower/ops/elementwise.h"

namespace netc {
namespace {

class Relu : public ElementwiseLowering {
 protected:
  Halide::Expr value(const LayerLowering& l, Halide::Expr in) const override { return Halide::max(in, l.constant(0)); }
  Halide::Expr gradient(const LayerLowering& l, Halide::Expr in, Halide::Expr, Halide::Expr grad) const override {
    return Halide::select(in > l.constant(0), grad, l.constant(0));
  }
};

}  // namespace

const OpLowering& relu_lowering() {
  static const Relu lowering;
  return lowering;
}

}  // namespace netc

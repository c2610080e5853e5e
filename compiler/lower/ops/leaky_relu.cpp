// leaky_relu: x if x > 0, else negative_slope * x (PyTorch's default slope 0.01).
#include "front/ops/elementwise.h"
#include "lower/ops/elementwise.h"

namespace netc {
namespace {

class LeakyRelu : public ElementwiseLowering {
 protected:
  Halide::Expr slope(const LayerLowering& l) const { return l.constant(negative_slope(l.layer)); }
  Halide::Expr value(const LayerLowering& l, Halide::Expr in) const override {
    return Halide::select(in > l.constant(0), in, in * slope(l));
  }
  Halide::Expr gradient(const LayerLowering& l, Halide::Expr in, Halide::Expr, Halide::Expr grad) const override {
    return Halide::select(in > l.constant(0), grad, grad * slope(l));
  }
};

}  // namespace

const OpLowering& leaky_relu_lowering() {
  static const LeakyRelu lowering;
  return lowering;
}

}  // namespace netc

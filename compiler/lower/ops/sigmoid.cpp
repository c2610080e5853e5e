// sigmoid: 1 / (1 + exp(-x)); its derivative y (1 - y) is taken from the output.
#include "lower/ops/elementwise.h"

namespace netc {
namespace {

class Sigmoid : public ElementwiseLowering {
 protected:
  Halide::Expr value(const LayerLowering& l, Halide::Expr in) const override {
    return l.constant(1) / (l.constant(1) + Halide::exp(-in));
  }
  Halide::Expr gradient(const LayerLowering& l, Halide::Expr, Halide::Expr out, Halide::Expr grad) const override {
    return grad * (l.constant(1) - out) * out;
  }
};

}  // namespace

const OpLowering& sigmoid_lowering() {
  static const Sigmoid lowering;
  return lowering;
}

}  // namespace netc

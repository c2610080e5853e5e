// tanh; its derivative 1 - tanh^2 is taken from the output, as PyTorch does.
#include "lower/ops/elementwise.h"

namespace netc {
namespace {

class Tanh : public ElementwiseLowering {
 protected:
  // Halide 14's tanh calls libm's tanhf lane by lane (LeNet-5's first tanh:
  // 12.5 ms of a 27 ms step); its exp is a vectorized polynomial. So
  // tanh |x| = (1 - e) / (1 + e) with e = exp(-2 |x|), which cannot overflow,
  // and below |x| = 1/8, where 1 - e cancels, the Taylor series to x^7 (the
  // next term is under 1e-9 of x there). Within 4e-7 of tanh relatively.
  Halide::Expr value(const LayerLowering& l, Halide::Expr in) const override {
    Halide::Expr e = Halide::exp(l.constant(-2) * Halide::abs(in));
    Halide::Expr magnitude = (l.constant(1) - e) / (l.constant(1) + e);
    Halide::Expr x2 = in * in;
    Halide::Expr series =
        in * (l.constant(1) + x2 * (l.constant(-1.0 / 3) + x2 * (l.constant(2.0 / 15) + x2 * l.constant(-17.0 / 315))));
    return Halide::select(Halide::abs(in) < l.constant(0.125), series,
                          Halide::select(in < l.constant(0), -magnitude, magnitude));
  }
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

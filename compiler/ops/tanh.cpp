// tanh; its derivative 1 - tanh^2 is taken from the output, as PyTorch does.
#include "ops/elementwise.h"

namespace netc {
namespace {

class Tanh : public ElementwiseOp {
 public:
  std::string name() const override { return "tanh"; }

 protected:
  Halide::Expr value(const LayerLowering&, Halide::Expr in) const override { return Halide::tanh(in); }
  Halide::Expr gradient(const LayerLowering& l, Halide::Expr, Halide::Expr out, Halide::Expr grad) const override {
    return grad * (l.constant(1) - out * out);
  }
};

}  // namespace

const Op& tanh_op() {
  static const Tanh op;
  return op;
}

}  // namespace netc

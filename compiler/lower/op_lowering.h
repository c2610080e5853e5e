// The lowering of an op, one class per op: its Halide forward pass and its
// hand-written adjoint, in compiler/lower/ops/<op>.cpp. What the op accepts
// and the shapes it makes are its spec's (front/op_spec.h); a lowering may
// assume a layer its spec has checked.
#pragma once

#include <string>

#include "lower/lowering.h"

namespace netc {

class OpLowering {
 public:
  virtual ~OpLowering() = default;

  // Defines l.output from l.inputs and l.param(...).
  virtual void forward(LayerLowering& l) const = 0;
  // From l.grad_output (and forward values), defines the gradient of every
  // input that l.needs_grad_input(i) and of every parameter.
  virtual void adjoint(LayerLowering& l) const = 0;
};

// The lowering of the op called `name` (one of front/ops/op_list.h).
const OpLowering& lowering_of(const std::string& name);

}  // namespace netc

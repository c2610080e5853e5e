// The loss and the update rule: not layers, but lowered like them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "lower/lowering.h"
#include "model_abi.h"

namespace netc {

struct CrossEntropy {
  Halide::Func losses;       // (n): each image's loss
  Halide::Func loss;         // (): mean over the batch
  Halide::Func grad_logits;  // (i, n)
};

// Softmax cross-entropy of `logits` (i, n) against `labels` (n), stable:
// log-sum-exp with the maximum subtracted. Its stages are "loss.*".
CrossEntropy lower_cross_entropy(const Halide::Func& logits, const Halide::Func& labels, int64_t classes,
                                 int64_t batch, StageTable& stages);

// The train step's scalar arguments by name (model_abi.h's
// train_step_scalar_names).
using UpdateScalars = std::map<std::string, Halide::Expr>;

// A parameter's update: its new value and its new slots, in the order of
// model_abi.h's update_slots.
struct ParamUpdate {
  Halide::Func param;
  std::vector<Halide::Func> slots;
};

// The update of one parameter `param_name` by `rule` from its gradient and
// slots. Its stages are "update.<param>" (kind update.param) and
// "update.<param>.<slot>" (kind update.<slot>). Each stage computes its
// value from the inputs rather than reading another update stage, so that
// a schedule may compute them all in one loop (one GPU kernel).
ParamUpdate lower_update(UpdateRule rule, const std::string& param_name, const Halide::Func& param,
                         const Halide::Func& grad, const std::vector<Halide::Func>& slots,
                         const UpdateScalars& scalars, const std::vector<int64_t>& extents, StageTable& stages);

// PyTorch's SGD (dampening 0): d = g + wd p; buf = m buf + d;
// p -= lr (nesterov ? d + m buf : buf). A zero momentum buffer makes the
// first step PyTorch's `buf = d`, and momentum 0 makes it plain SGD.
ParamUpdate lower_sgd(const std::string& param_name, const Halide::Func& param, const Halide::Func& grad,
                      const std::vector<Halide::Func>& slots, const UpdateScalars& scalars,
                      const std::vector<int64_t>& extents, StageTable& stages);

// PyTorch's Adam and AdamW (model_abi.h's StepScalars has the formula):
// AdamW is Adam with no L2 term and a decay below 1.
ParamUpdate lower_adam(const std::string& param_name, const Halide::Func& param, const Halide::Func& grad,
                       const std::vector<Halide::Func>& slots, const UpdateScalars& scalars,
                       const std::vector<int64_t>& extents, StageTable& stages);

}  // namespace netc

// The loss and the update rule: not layers, but lowered like them.
#pragma once

#include "lower/lowering.h"

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

struct SgdHyper {
  Halide::Expr lr, momentum, weight_decay, nesterov;
};

struct SgdUpdate {
  Halide::Func param, momentum;  // the new values
};

// PyTorch's SGD (dampening 0): d = g + wd p; buf = m buf + d;
// p -= lr (nesterov ? d + m buf : buf). A zero momentum buffer makes the
// first step PyTorch's `buf = d`, and momentum 0 makes it plain SGD.
SgdUpdate lower_sgd(const std::string& param_name, const Halide::Func& param, const Halide::Func& grad,
                    const Halide::Func& momentum, const SgdHyper& hyper, const std::vector<int64_t>& extents,
                    StageTable& stages);

}  // namespace netc

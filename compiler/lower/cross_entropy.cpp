// cross_entropy: softmax + negative log-likelihood, mean over the batch, as
// PyTorch's F.cross_entropy with its default reduction.
#include "lower/losses.h"

namespace netc {

CrossEntropy lower_cross_entropy(const Halide::Func& logits, const Halide::Func& labels, int64_t classes,
                                 int64_t batch, StageTable& stages) {
  const auto& v = kVars;
  Halide::Type t = logits.output_types()[0];
  Halide::RDom k(0, int(classes), "k");
  Halide::Expr label = Halide::clamp(labels(v.n), 0, int(classes) - 1);

  Halide::Func max_logit = stages.add("loss.max", "loss.max", {batch});
  max_logit(v.n) = Halide::maximum(logits(k, v.n));
  Halide::Func log_sum_exp = stages.add("loss.log_sum_exp", "loss.log_sum_exp", {batch});
  log_sum_exp(v.n) = max_logit(v.n) + Halide::log(Halide::sum(Halide::exp(logits(k, v.n) - max_logit(v.n))));

  CrossEntropy ce;
  ce.losses = stages.add("loss.per_image", "loss.per_image", {batch});
  ce.losses(v.n) = log_sum_exp(v.n) - logits(label, v.n);
  Halide::RDom b(0, int(batch), "b");
  ce.loss = stages.add("loss.mean", "loss.mean", {});
  ce.loss() = Halide::sum(ce.losses(b)) / Halide::cast(t, int(batch));

  ce.grad_logits = stages.add("loss.grad_logits", "loss.grad_logits", {classes, batch});
  Halide::Expr softmax = Halide::exp(logits(v.i, v.n) - log_sum_exp(v.n));
  Halide::Expr one_hot = Halide::select(v.i == label, Halide::cast(t, 1), Halide::cast(t, 0));
  ce.grad_logits(v.i, v.n) = (softmax - one_hot) / Halide::cast(t, int(batch));
  return ce;
}

}  // namespace netc

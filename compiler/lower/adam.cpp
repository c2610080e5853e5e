// adam: PyTorch 1.13's torch.optim.Adam and AdamW updates (amsgrad off), with
// the step's bias corrections computed on the host (model_abi.h, StepScalars).
#include "lower/losses.h"

namespace netc {

ParamUpdate lower_adam(const std::string& param_name, const Halide::Func& param, const Halide::Func& grad,
                       const std::vector<Halide::Func>& slots, const UpdateScalars& scalars,
                       const std::vector<int64_t>& extents, StageTable& stages) {
  std::vector<Halide::Var> args;
  for (size_t d = 0; d < extents.size(); ++d) args.push_back(Halide::Var("d" + std::to_string(d)));
  auto s = [&](const char* name) { return scalars.at(name); };
  const Halide::Func &exp_avg = slots.at(0), &exp_avg_sq = slots.at(1);

  // In PyTorch's order of operations: grad.add(param, alpha=wd);
  // exp_avg.mul_(beta1).add_(g, alpha=1-beta1);
  // exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1-beta2).
  Halide::Expr g = grad(args) + s("weight_decay") * param(args);
  Halide::Expr m = exp_avg(args) * s("beta1") + s("one_minus_beta1") * g;
  Halide::Expr v = exp_avg_sq(args) * s("beta2") + s("one_minus_beta2") * g * g;
  ParamUpdate u;
  u.slots.push_back(stages.add("update." + param_name + ".exp_avg", "update.exp_avg", extents));
  u.slots[0](args) = m;
  u.slots.push_back(stages.add("update." + param_name + ".exp_avg_sq", "update.exp_avg_sq", extents));
  u.slots[1](args) = v;
  // param.mul_(decay) (AdamW); denom = exp_avg_sq.sqrt() / bc2_sqrt + eps;
  // param.addcdiv_(exp_avg, denom, value=-step_size).
  Halide::Expr denom = Halide::sqrt(v) / s("bias_correction2_sqrt") + s("eps");
  u.param = stages.add("update." + param_name, "update.param", extents);
  u.param(args) = param(args) * s("decay") - s("step_size") * m / denom;
  return u;
}

}  // namespace netc

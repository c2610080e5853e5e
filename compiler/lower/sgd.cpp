// sgd: PyTorch's torch.optim.SGD update (lr, momentum, weight_decay, nesterov).
#include "lower/losses.h"

namespace netc {

ParamUpdate lower_sgd(const std::string& param_name, const Halide::Func& param, const Halide::Func& grad,
                      const std::vector<Halide::Func>& slots, const UpdateScalars& scalars,
                      const std::vector<int64_t>& extents, StageTable& stages) {
  std::vector<Halide::Var> args;
  for (size_t d = 0; d < extents.size(); ++d) args.push_back(Halide::Var("d" + std::to_string(d)));
  const Halide::Expr lr = scalars.at("lr"), momentum = scalars.at("momentum"),
                     weight_decay = scalars.at("weight_decay"), nesterov = scalars.at("nesterov");
  const Halide::Func& buffer = slots.at(0);

  Halide::Expr d_p = grad(args) + weight_decay * param(args);
  Halide::Expr new_momentum = momentum * buffer(args) + d_p;
  ParamUpdate u;
  u.slots.push_back(stages.add("update." + param_name + ".momentum", "update.momentum", extents));
  u.slots[0](args) = new_momentum;
  // The same expression again rather than a read of the momentum stage
  // (losses.h, lower_update).
  Halide::Expr step = Halide::select(nesterov, d_p + momentum * new_momentum, new_momentum);
  u.param = stages.add("update." + param_name, "update.param", extents);
  u.param(args) = param(args) - lr * step;
  return u;
}

ParamUpdate lower_update(UpdateRule rule, const std::string& param_name, const Halide::Func& param,
                         const Halide::Func& grad, const std::vector<Halide::Func>& slots,
                         const UpdateScalars& scalars, const std::vector<int64_t>& extents, StageTable& stages) {
  if (rule == UpdateRule::Sgd) return lower_sgd(param_name, param, grad, slots, scalars, extents, stages);
  return lower_adam(param_name, param, grad, slots, scalars, extents, stages);
}

}  // namespace netc

// sgd: PyTorch's torch.optim.SGD update (lr, momentum, weight_decay, nesterov).
#include "lower/losses.h"

namespace netc {

SgdUpdate lower_sgd(const std::string& param_name, const Halide::Func& param, const Halide::Func& grad,
                    const Halide::Func& momentum, const SgdHyper& hyper, const std::vector<int64_t>& extents,
                    StageTable& stages) {
  std::vector<Halide::Var> args;
  for (size_t d = 0; d < extents.size(); ++d) args.push_back(Halide::Var("d" + std::to_string(d)));

  Halide::Expr d_p = grad(args) + hyper.weight_decay * param(args);
  Halide::Expr new_momentum = hyper.momentum * momentum(args) + d_p;
  SgdUpdate u;
  u.momentum = stages.add("update." + param_name + ".momentum", "update.momentum", extents);
  u.momentum(args) = new_momentum;
  // The same expression again rather than a read of u.momentum: with no
  // dependency between them, a schedule may compute both in one loop (one
  // GPU kernel per parameter).
  Halide::Expr step = Halide::select(hyper.nesterov, d_p + hyper.momentum * new_momentum, new_momentum);
  u.param = stages.add("update." + param_name, "update.param", extents);
  u.param(args) = param(args) - hyper.lr * step;
  return u;
}

}  // namespace netc

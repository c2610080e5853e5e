#include "schedule/schedule.h"

namespace netc {
namespace {

void schedule_stage(const Stage& stage, int vector_width) {
  Halide::Func f = stage.func;
  f.compute_root();
  if (stage.extents.empty()) return;
  std::vector<Halide::Var> vars = f.args();
  const bool vectorize = stage.extents[0] >= vector_width;
  if (vectorize) f.vectorize(vars[0], vector_width, Halide::TailStrategy::GuardWithIf);
  if (vars.size() > 1) f.parallel(vars.back());
  for (int u = 0; u < f.num_update_definitions(); ++u) {
    Halide::Stage update = f.update(u);
    // Reductions run their RVars innermost by default; put the vector
    // dimension innermost instead so every multiply-add is a vector one.
    std::vector<Halide::VarOrRVar> order;
    if (vectorize) order.push_back(vars[0]);
    for (const Halide::RVar& r : f.rvars(u)) order.push_back(r);
    for (size_t d = vectorize ? 1 : 0; d < vars.size(); ++d) order.push_back(vars[d]);
    update.reorder(order);
    if (vectorize) update.vectorize(vars[0], vector_width, Halide::TailStrategy::GuardWithIf);
    if (vars.size() > 1) update.parallel(vars.back());
  }
}

}  // namespace

void apply_default_cpu_schedule(LoweredPipeline& p, const Halide::Target& target) {
  const int vector_width = target.natural_vector_size(Halide::Float(32));
  for (const Stage& stage : p.stages.stages()) schedule_stage(stage, vector_width);
}

}  // namespace netc

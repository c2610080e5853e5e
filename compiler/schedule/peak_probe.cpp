#include "schedule/peak_probe.h"

#include "schedule/recipes.h"

namespace netc {

PeakProbe lower_peak_probe(const Halide::Target& target) {
  const Machine m = machine_of(target);
  const int tasks = 64;  // enough to spread evenly over any thread count netc uses
  Halide::Param<int> iterations("iterations");
  Halide::Param<float> zero("zero");  // 0 at run time; keeps the loop from being folded away
  Halide::Var lane("lane"), chain("chain"), task("task");
  Halide::RDom r(0, iterations, "r");

  Halide::Func acc("peak_fma");
  acc(lane, chain, task) = Halide::cast<float>(lane + chain + task);
  // The addend is loop-invariant (r < 0 never holds; Halide folds the test
  // away, and `zero`, 0 at run time, keeps the chains from being folded): an
  // addend computed from r each iteration took the registers of two chains,
  // and with AVX2's 12 chains in 16 registers the probe spilled and read 58
  // GFLOP/s on a CPU whose convolutions ran at 74.
  acc(lane, chain, task) = acc(lane, chain, task) * 0.999f + Halide::select(r < 0, 1.0f, 0.001f + zero);

  // Every chain in its own register (a per-task tile the compiler promotes
  // to registers, as the convolution tiles are), the repetitions outside them.
  Halide::Func out = acc.in();
  out.bound(lane, 0, m.vector_width).bound(chain, 0, m.accumulators).bound(task, 0, tasks);
  out.compute_root().vectorize(lane).parallel(task);
  acc.compute_at(out, task).vectorize(lane).unroll(chain);
  acc.update().reorder(lane, chain, r, task).vectorize(lane).unroll(chain);

  PeakProbe p;
  p.pipeline = Halide::Pipeline(out);
  p.arguments = {iterations, zero};
  p.flops_per_iteration = 2LL * m.vector_width * m.accumulators * tasks;
  p.output_extents = {m.vector_width, m.accumulators, tasks};
  return p;
}

}  // namespace netc

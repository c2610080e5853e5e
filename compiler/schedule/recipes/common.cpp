// The recipes for any stage on any target: root, inline, plain.
#include <fmt/format.h>

#include "schedule/recipes/recipe_functions.h"

namespace netc {
namespace {

using Halide::Func;
using Halide::TailStrategy;
using Halide::Var;
using Halide::VarOrRVar;

// Lanes for the innermost dimension of `f`, of `extent`: whole machine
// vectors, or for a pointwise stage narrower ones (at least 4 lanes) when the
// dimension is narrower, such as 14-wide feature maps (Model A's max pool ran
// 2.9 ms in scalar code and 0.5 ms in 8 lanes). A reduction keeps scalar code
// where a guarded tail is a large part of a short dimension: its vector loop
// runs outside the reduction, and the tail loads each lane alone for the
// whole reduction (fc1.forward, 10 outputs: 0.05 ms scalar, 0.8 ms in 16
// lanes, 1.5 ms in 8 on an AVX2 target); a long one (fc1.grad_weight's 392
// inputs) keeps its vectors.
int vector_lanes(const Func& f, int64_t extent, const Machine& m) {
  int lanes = m.vector_width;
  if (f.has_update_definition()) return extent % lanes == 0 || extent >= 4 * lanes ? lanes : 1;
  while (lanes > 4 && lanes > extent) lanes /= 2;
  return lanes <= extent ? lanes : 1;
}

// The multiply-adds (or other operations) one run of f's definitions takes,
// roughly: its points times the longest reduction.
int64_t work_of(const Func& f, const std::vector<int64_t>& extents) {
  int64_t points = 1, reduction = 1;
  for (int64_t e : extents) points *= e;
  for (int u = 0; u < f.num_update_definitions(); ++u) {
    int64_t terms = 1;
    for (int64_t e : reduction_extents(f, u)) terms *= std::max<int64_t>(1, e);
    reduction = std::max(reduction, terms);
  }
  return points * reduction;
}

// Below this much work a stage runs on one thread (worth_parallel).
constexpr int64_t kParallelWork = 1 << 16;

// Every stage at root, serially, nothing else: the reference schedule.
void schedule_root(const RecipeCall& call) { Func(call.stage.func).compute_root(); }

void schedule_inline(const RecipeCall& call) {
  Func f = call.stage.func;
  if (f.has_update_definition())
    fail_at(call.recipe.loc, fmt::format("{} is a reduction and cannot be inlined", call.stage.name));
  f.compute_inline();
}

}  // namespace

// (Func::rvars gives names without extents.)
std::vector<int64_t> reduction_extents(const Func& f, int u) {
  std::vector<int64_t> extents;
  for (const auto& r : f.function().update(u).schedule().rvars()) {
    const int64_t* extent = Halide::Internal::as_const_int(r.extent);
    extents.push_back(extent ? *extent : 0);
  }
  return extents;
}

std::vector<bool> pure_in_update(const Func& f, int u) {
  const std::vector<Halide::Expr>& args = f.update_args(u);
  std::vector<bool> pure;
  for (size_t d = 0; d < args.size(); ++d) {
    const auto* v = args[d].as<Halide::Internal::Variable>();
    pure.push_back(v && v->name == f.args()[d].name());
  }
  return pure;
}

bool worth_parallel(const Func& f, const std::vector<int64_t>& extents) {
  return work_of(f, extents) >= kParallelWork;
}

int largest_divisor_at_most(int64_t n, int64_t limit) {
  for (int64_t d = std::min(n, limit); d > 1; --d)
    if (n % d == 0) return int(d);
  return 1;
}

// Every stage at root, vectorized along its innermost dimension (vector_lanes),
// parallel over its outermost when there is work enough, reductions with the
// vector dimension innermost: sound for any stage, fast for none in particular.
void schedule_plain(const Stage& stage, const Machine& m, bool channel_innermost) {
  Func f = stage.func;
  f.compute_root();
  if (stage.extents.empty()) return;
  std::vector<Var> vars = f.args();
  const bool parallel = vars.size() > 1 && worth_parallel(f, stage.extents);
  if (channel_innermost) {  // an image (x, y, c, n) without update, whole vectors of channels
    f.reorder_storage(vars[2], vars[0], vars[1], vars[3]).reorder(vars[2], vars[0], vars[1], vars[3]);
    f.vectorize(vars[2], m.vector_width);
    if (parallel) f.parallel(vars[3]);
    return;
  }
  const int lanes = vector_lanes(f, stage.extents[0], m);
  const bool vectorize = lanes > 1;
  // A pointwise stage recomputes a few overlapping lanes at the end of a
  // row rather than guard them: guarded lanes load one by one (a 14-wide
  // row in 8 lanes, a 28-wide one in 16, each half guarded). Its lanes never
  // exceed the row (vector_lanes).
  const TailStrategy tail = f.has_update_definition() ? TailStrategy::GuardWithIf : TailStrategy::ShiftInwards;
  if (vectorize) f.vectorize(vars[0], lanes, tail);
  if (parallel) f.parallel(vars.back());
  for (int u = 0; u < f.num_update_definitions(); ++u) {
    // An update's loops are its reduction and the variables it writes at
    // themselves (a scatter writes x at the reduction's positions).
    const std::vector<bool> loops = pure_in_update(f, u);
    const bool vector_loop = vectorize && loops[0];
    std::vector<VarOrRVar> order;
    if (vector_loop) order.push_back(vars[0]);
    for (const Halide::RVar& r : f.rvars(u)) order.push_back(r);
    for (size_t d = vector_loop ? 1 : 0; d < vars.size(); ++d)
      if (loops[d]) order.push_back(vars[d]);
    f.update(u).reorder(order);
    if (vector_loop) f.update(u).vectorize(vars[0], lanes, TailStrategy::GuardWithIf);
    if (parallel && loops.back()) f.update(u).parallel(vars.back());
  }
}

RecipeFunctions common_recipes() {
  return {
      {"root", schedule_root},
      {"inline", schedule_inline},
      {"plain",
       [](const RecipeCall& call) {
         schedule_plain(call.stage, call.machine, call.stores_channel_innermost(call.stage.func));
       }},
  };
}

}  // namespace netc

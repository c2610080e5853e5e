// The recipe `gpu`, the CUDA schedule of one stage (schedules/cuda/default.yaml
// applies it to every stage it does not inline).
#include <algorithm>

#include "schedule/recipes/recipe_functions.h"

namespace netc {
namespace {

using Halide::Func;
using Halide::RVar;
using Halide::TailStrategy;
using Halide::Var;
using Halide::VarOrRVar;

// Threads per block: a few warps, so that a block of a small stage still
// fills whole warps and every multiprocessor gets several blocks.
constexpr int kPointwiseThreads = 256;
constexpr int kReductionThreads = 128;
// An H200 keeps 132 x 2048 threads in flight; reductions aim at about that
// many, so that memory latency is hidden.
constexpr int64_t kTargetThreads = 1 << 18;
// A reduction is summed by one thread per value when there are at least this
// many values and each sums at most kShortReduction terms.
constexpr int64_t kManyValues = 1 << 14;
constexpr int64_t kShortReduction = 1024;
// The fewest terms a thread sums before its atomic add: fewer would make the
// additions to one value wait on each other.
constexpr int64_t kMinChunk = 64;
// The chunks are the second dimension of the grid, which CUDA limits.
constexpr int64_t kMaxChunks = 65535;
// Output channels one thread of an image reduction computes, reusing each
// input value it loads for all of them.
constexpr int kChannelsPerThread = 4;

int64_t product(const std::vector<int64_t>& extents) {
  int64_t n = 1;
  for (int64_t e : extents) n *= e;
  return n;
}

int64_t reduction_size(const Func& f, int update) {
  int64_t n = 1;
  for (const Halide::Internal::ReductionVariable& r : f.function().update(update).schedule().rvars()) {
    const int64_t* extent = Halide::Internal::as_const_int(r.extent);
    if (!extent) throw std::logic_error("a reduction of " + f.name() + " has an extent unknown at compile time");
    n *= *extent;
  }
  return n;
}

// Threads per block for `values` threads in all: fewer than `threads` when
// that many would mostly idle, but whole warps.
int block_size(int64_t values, int threads) {
  return int(std::min<int64_t>(threads, (values + 31) / 32 * 32));
}

// Fuses `dims` (innermost first, adjacent in the loop order) into one
// dimension and returns it.
template <typename S>
VarOrRVar fuse_all(S& s, const std::vector<VarOrRVar>& dims, const std::string& name) {
  VarOrRVar fused = dims.front();
  for (size_t d = 1; d < dims.size(); ++d) {
    VarOrRVar next = fused.is_rvar ? VarOrRVar(RVar(name + std::to_string(d))) : VarOrRVar(Var(name + std::to_string(d)));
    s.fuse(fused, dims[d], next);
    fused = next;
  }
  return fused;
}

std::vector<VarOrRVar> as_dims(const std::vector<Var>& vars) { return {vars.begin(), vars.end()}; }

// One thread per value of f's pure definition (or of an update that writes
// each value once), in blocks of `threads` along its dimensions fused.
template <typename S>
void tile_values(S& s, const std::vector<Var>& vars, int64_t values, int threads) {
  VarOrRVar all = fuse_all(s, as_dims(vars), "values");
  s.gpu_tile(all, Var("block"), Var("thread"), block_size(values, threads), TailStrategy::GuardWithIf);
}

void schedule_pointwise(Func f, const Stage& stage) {
  f.compute_root();
  tile_values(f, f.args(), product(stage.extents), kPointwiseThreads);
}

void schedule_scalar(Func f) {
  f.compute_root().gpu_single_thread();
  for (int u = 0; u < f.num_update_definitions(); ++u) f.update(u).gpu_single_thread();
}

// The whole reduction of each value by one thread, in a wrapper kernel with
// f's accumulators in registers; an image stage (x, y, c, n) with whole
// groups of channels computes kChannelsPerThread of them per thread.
void reduce_per_thread(Func f, const Stage& stage) {
  const bool channel_groups = stage.extents.size() == 4 && stage.extents[2] % kChannelsPerThread == 0;
  Func out = f.in();
  std::vector<Var> v = out.args();
  out.compute_root();
  Var thread("thread");
  if (channel_groups) {
    Var c_group("c_group"), c_lane("c_lane");
    out.split(v[2], c_group, c_lane, kChannelsPerThread).reorder(c_lane, v[0], v[1], c_group, v[3]).unroll(c_lane);
    VarOrRVar all = fuse_all(out, {v[0], v[1], c_group, v[3]}, "values");
    out.gpu_tile(all, Var("block"), thread, block_size(product(stage.extents) / kChannelsPerThread, kReductionThreads),
                 TailStrategy::GuardWithIf);
  } else {
    VarOrRVar all = fuse_all(out, as_dims(v), "values");
    out.gpu_tile(all, Var("block"), thread, block_size(product(stage.extents), kReductionThreads),
                 TailStrategy::GuardWithIf);
  }
  f.compute_at(out, thread);
  std::vector<Var> fv = f.args();
  if (channel_groups) f.unroll(fv[2]);
  for (int u = 0; u < f.num_update_definitions(); ++u) {
    // The reduction outside the channels, so that each accumulator stays in
    // a register for all of it.
    std::vector<VarOrRVar> order;
    if (channel_groups) order.push_back(fv[2]);
    for (const RVar& r : f.rvars(u)) order.push_back(r);
    for (size_t d = 0; d < fv.size(); ++d)
      if (!(channel_groups && d == 2)) order.push_back(fv[d]);
    f.update(u).reorder(order);
    if (channel_groups) f.update(u).unroll(fv[2]);
  }
}

// The values initialized by one kernel; then each update's reduction cut
// into chunks of consecutive terms, one thread per (chunk, value) summing its
// chunk in a register (an rfactor intermediate computed in the thread) and
// adding that sum atomically.
void reduce_in_chunks(Func f, const Stage& stage) {
  const int64_t values = product(stage.extents);
  schedule_pointwise(f, stage);
  for (int u = 0; u < f.num_update_definitions(); ++u) {
    const int64_t terms = reduction_size(f, u);
    const int64_t chunks =
        std::clamp<int64_t>(kTargetThreads / values, 1, std::clamp<int64_t>(terms / kMinChunk, 1, kMaxChunks));
    const int64_t chunk = (terms + chunks - 1) / chunks;
    Halide::Stage s = f.update(u);
    std::vector<RVar> r = f.rvars(u);
    VarOrRVar terms_var = fuse_all(s, std::vector<VarOrRVar>(r.begin(), r.end()), "terms");
    RVar chunk_index("chunk"), term("term");
    s.split(terms_var, chunk_index, term, int(chunk), TailStrategy::GuardWithIf);
    // partial(values..., c) sums the terms of chunk c; f then adds the partials.
    Func partial = s.rfactor(chunk_index, Var("chunk_of_" + f.name()));
    s.atomic();
    VarOrRVar value = fuse_all(s, as_dims(f.args()), "values");
    Var block("block"), thread("thread");
    s.split(value, block, thread, block_size(values, kReductionThreads), TailStrategy::GuardWithIf);
    s.reorder(thread, block, chunk_index).gpu_threads(thread).gpu_blocks(block, chunk_index);
    partial.compute_at(f, thread);  // in the thread of the last update: this one
  }
}

// Makes `stage` one or two GPU kernels, chosen by its shape:
//  - a scalar: one GPU thread;
//  - a pure stage: one thread per value, in blocks along its dimensions fused;
//  - a reduction with many values and a short reduction: one thread per value
//    (per four channels of an image), accumulated in registers, in one kernel;
//  - any other reduction (few values, or a long reduction such as a weight
//    gradient over the whole batch): the values initialized by one kernel,
//    then the reduction cut into chunks, one thread per chunk and value,
//    each adding its partial sum atomically.
// The update stage whose kernel (and thread) `stage` shares, or nullptr: a
// parameter's update shares its first slot's (SGD's momentum, Adam's
// exp_avg), and Adam's exp_avg_sq shares exp_avg's. That stage comes first
// in the table, so it is scheduled first.
const Stage* fused_update_parent(const Stage& stage, const StageTable& table) {
  if (stage.kind == "update.param") {
    if (const Stage* momentum = table.find(stage.name + ".momentum")) return momentum;
    return table.find(stage.name + ".exp_avg");
  }
  const std::string suffix = "_sq";  // update.<param>.exp_avg_sq -> update.<param>.exp_avg
  if (stage.kind == "update.exp_avg_sq") return table.find(stage.name.substr(0, stage.name.size() - suffix.size()));
  return nullptr;
}

// A parameter's update shares one kernel with its slots' (fused_update_parent).
void schedule_gpu_stage(const RecipeCall& call) {
  const Stage& stage = call.stage;
  const StageTable& table = call.table;
  Func f = stage.func;
  if (stage.extents.empty()) return schedule_scalar(f);
  if (!f.has_update_definition()) {
    schedule_pointwise(f, stage);
    // One kernel per parameter instead of one per stage.
    if (const Stage* parent = fused_update_parent(stage, table)) f.compute_with(Func(parent->func), Var("thread"));
    return;
  }
  bool short_reductions = true;
  for (int u = 0; u < f.num_update_definitions(); ++u) short_reductions &= reduction_size(f, u) <= kShortReduction;
  if (product(stage.extents) >= kManyValues && short_reductions)
    reduce_per_thread(f, stage);
  else
    reduce_in_chunks(f, stage);
}

}  // namespace

RecipeFunctions gpu_recipes() { return {{"gpu", schedule_gpu_stage}}; }

}  // namespace netc

#include "schedule/recipes.h"

#include <fmt/format.h>

#include "schedule/cuda_schedule.h"

namespace netc {
namespace {

using Halide::Func;
using Halide::TailStrategy;
using Halide::Var;
using Halide::VarOrRVar;

// Every stage at root, serially, nothing else: the reference schedule.
void schedule_root(const Stage& stage) { Func(stage.func).compute_root(); }

// Lanes for the innermost dimension of `f`, of `extent`: whole machine
// vectors, or for a pointwise stage narrower ones (at least 4 lanes) when the
// dimension is narrower, such as 14-wide feature maps (Model A's max pool ran
// 2.9 ms in scalar code and 0.5 ms in 8 lanes). A reduction keeps scalar code
// there: its vector loop would run outside the reduction, which then reads
// its other operand across lanes (fc1.forward: 0.05 -> 0.8 ms in 8 lanes).
int vector_lanes(const Func& f, int64_t extent, const Machine& m) {
  int lanes = m.vector_width;
  if (!f.has_update_definition())
    while (lanes > 4 && lanes > extent) lanes /= 2;
  return lanes <= extent ? lanes : 1;
}

// The constant extents of the reduction variables of update `u` of f, 0 for
// one that is not constant. (Func::rvars gives names without extents.)
std::vector<int64_t> reduction_extents(const Func& f, int u) {
  std::vector<int64_t> extents;
  for (const auto& r : f.function().update(u).schedule().rvars()) {
    const int64_t* extent = Halide::Internal::as_const_int(r.extent);
    extents.push_back(extent ? *extent : 0);
  }
  return extents;
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

// Below this much work a stage runs on one thread: waking the others costs
// more than they save (a step has dozens of small stages: updates, biases, the loss).
constexpr int64_t kParallelWork = 1 << 16;

// Every stage at root, vectorized along its innermost dimension (vector_lanes),
// parallel over its outermost when there is work enough, reductions with the
// vector dimension innermost: sound for any stage, fast for none in particular.
void schedule_plain(const Stage& stage, const Machine& m) {
  Func f = stage.func;
  f.compute_root();
  if (stage.extents.empty()) return;
  std::vector<Var> vars = f.args();
  const int lanes = vector_lanes(f, stage.extents[0], m);
  const bool vectorize = lanes > 1;
  const bool parallel = vars.size() > 1 && work_of(f, stage.extents) >= kParallelWork;
  if (vectorize) f.vectorize(vars[0], lanes, TailStrategy::GuardWithIf);
  if (parallel) f.parallel(vars.back());
  for (int u = 0; u < f.num_update_definitions(); ++u) {
    std::vector<VarOrRVar> order;
    if (vectorize) order.push_back(vars[0]);
    for (const Halide::RVar& r : f.rvars(u)) order.push_back(r);
    for (size_t d = vectorize ? 1 : 0; d < vars.size(); ++d) order.push_back(vars[d]);
    f.update(u).reorder(order);
    if (vectorize) f.update(u).vectorize(vars[0], lanes, TailStrategy::GuardWithIf);
    if (parallel) f.update(u).parallel(vars.back());
  }
}

// A copy of `producer` for `consumer` alone, computed once per call and
// stored with dimension `inner` innermost, so that the consumer's vector
// loads along that dimension are dense.
void repack_for(const Stage& producer, const Func& consumer, int inner, const Machine& m) {
  Func w = Func(producer.func).in(consumer);
  std::vector<Var> vars = w.args();
  std::vector<Var> order = {vars[inner]};
  for (size_t d = 0; d < vars.size(); ++d)
    if (int(d) != inner) order.push_back(vars[d]);
  w.compute_root().reorder_storage(order).reorder(std::vector<VarOrRVar>(order.begin(), order.end()));
  if (producer.extents[inner] % m.vector_width == 0) w.vectorize(vars[inner], m.vector_width);
  w.parallel(order.back());
}

int largest_divisor_at_most(int64_t n, int64_t limit) {
  for (int64_t d = std::min(n, limit); d > 1; --d)
    if (n % d == 0) return int(d);
  return 1;
}

// The register tile of f (computed at a tile of its wrapper): `lanes` in
// whole vectors and `unrolled` fully unrolled, in the pure definition and in
// the update, whose reduction runs outside them so that every accumulator
// stays in a register for the whole reduction; `outer` are f's other
// dimensions (extent 1 inside the tile).
void accumulate_in_registers(Func f, const Var& lanes, const Var& unrolled, const std::vector<Var>& outer,
                             const std::vector<Halide::RVar>& reduction, const Machine& m) {
  Var vectors("vectors"), lane("lane");
  f.split(lanes, vectors, lane, m.vector_width).reorder(lane, unrolled, vectors);
  f.vectorize(lane).unroll(unrolled).unroll(vectors);
  std::vector<VarOrRVar> order = {lane, unrolled, vectors};
  order.insert(order.end(), reduction.begin(), reduction.end());
  order.insert(order.end(), outer.begin(), outer.end());
  f.update().split(lanes, vectors, lane, m.vector_width).reorder(order);
  f.update().vectorize(lane).unroll(unrolled).unroll(vectors);
}

int64_t option(const Recipe& r, const std::string& name, int64_t fallback) {
  auto it = r.options.find(name);
  return it == r.options.end() ? fallback : it->second;
}

void check_options(const Recipe& r, const std::vector<std::string>& allowed) {
  for (const auto& [name, value] : r.options)
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
      fail_at(r.loc, fmt::format("recipe '{}' has no option '{}'", r.name, name));
}

// An image stage f(x, y, c, n) += weight(...) * input(...): computed in
// register tiles of every channel (vectorized) times `x_tile` x positions,
// accumulated over the whole reduction before they are stored.
void schedule_channel_tiles(const Stage& stage, const Recipe& r, const Machine& m) {
  Func f = stage.func;
  const int64_t width = stage.extents[0], channels = stage.extents[2];
  const int vectors = int(channels / m.vector_width);
  const int fitting = largest_divisor_at_most(width, std::max(1, m.accumulators / vectors));
  const int64_t tile = option(r, "x_tile", fitting);
  if (width % tile != 0) fail_at(r.loc, fmt::format("x_tile {} does not divide the width {}", tile, width));
  std::vector<Var> v = f.args();  // x, y, c, n
  Var xo("xo"), xi("xi");

  Func out = f.in();
  out.compute_root().split(v[0], xo, xi, int(tile)).reorder(xi, v[2], xo, v[1], v[3]).parallel(v[3]).vectorize(xi);
  f.compute_at(out, xo).reorder_storage(v[2], v[0], v[1], v[3]);
  accumulate_in_registers(f, v[2], v[0], {v[1], v[3]}, f.rvars(0), m);
}

// An image stage f(x, y, c, n) += weight(...) * input(...) whose reduction
// is short in channels (a first layer reading one input channel): vectors
// along x times a block of channels, unrolled, each accumulator a register
// for the whole reduction; the input vector is loaded once per tap and
// shared by the block, the weights broadcast.
void schedule_position_tiles(const Stage& stage, const Recipe& r, const Machine& m) {
  Func f = stage.func;
  const int64_t width = stage.extents[0], channels = stage.extents[2];
  const int64_t lanes = option(r, "x_vector", largest_divisor_at_most(width, m.vector_width));
  const int64_t block = option(r, "channel_block", largest_divisor_at_most(channels, m.accumulators));
  if (width % lanes != 0) fail_at(r.loc, fmt::format("x_vector {} does not divide the width {}", lanes, width));
  if (channels % block != 0)
    fail_at(r.loc, fmt::format("channel_block {} does not divide the {} channels", block, channels));
  std::vector<Var> v = f.args();  // x, y, c, n
  Var xo("xo"), xi("xi"), co("co_block"), cb("c_in_block");
  f.compute_root().vectorize(v[0], int(lanes)).parallel(v[3]);
  std::vector<VarOrRVar> order = {xi, cb};
  for (const Halide::RVar& rv : f.rvars(0)) order.push_back(rv);
  order.insert(order.end(), {xo, co, v[1], v[3]});
  f.update().split(v[0], xo, xi, int(lanes)).split(v[2], co, cb, int(block)).reorder(order);
  f.update().vectorize(xi).unroll(cb).parallel(v[3]);
}

// The weight gradient g(kx, ky, ci, co) += grad(...) * input(...): partial
// sums over `batch_blocks` blocks of images (an rfactor), summed at the end;
// each in tiles of every kx times a block of `co_vectors` vectors of output
// channels accumulated in registers over its images. Parallel over image
// blocks, kernel rows and input channels, images outermost: a thread reads
// the images it made in the forward pass (the thread pool gives each thread
// the same contiguous share of every loop), and a first layer with one input
// channel still has parallel work. Returns the Func that reads the gradient.
Func schedule_weight_gradient_tiles(const Stage& stage, const Recipe& r, const Machine& m) {
  Func f = stage.func;
  const int64_t taps = stage.extents[0], out_channels = stage.extents[3];
  const int64_t fitting = std::max(1, std::min(int(out_channels / m.vector_width), m.accumulators / int(taps)));
  const int64_t block = option(r, "co_vectors", fitting) * m.vector_width;
  if (out_channels % block != 0)
    fail_at(r.loc, fmt::format("co_vectors x {} lanes does not divide the {} output channels", m.vector_width,
                               out_channels));
  const std::vector<Halide::RVar> reduction = f.rvars(0);  // ro.x, ro.y, ro.z (images)
  const Halide::RVar images = reduction[2];
  const int64_t batch = reduction_extents(f, 0)[2];
  const int64_t blocks = option(r, "batch_blocks", default_batch_blocks(batch));
  if (blocks < 1 || batch % blocks != 0)
    fail_at(r.loc, fmt::format("batch_blocks {} does not divide the batch {}", blocks, batch));

  std::vector<Var> v = f.args();  // kx, ky, ci, co
  Var b("image_block"), bo("co_block"), bi("co_in_block"), rows("ky_ci"), work("work");
  Halide::RVar outer("image_blocks"), inner("images_in_block");
  f.compute_root();
  f.update().split(images, outer, inner, int(batch / blocks));
  Func partial = f.update().rfactor(outer, b);  // partial(kx, ky, ci, co, b)

  Func out = partial.in();
  out.compute_root().split(v[3], bo, bi, int(block)).reorder(v[0], bi, bo, v[1], v[2], b);
  out.fuse(v[1], v[2], rows).fuse(rows, b, work).parallel(work);
  partial.compute_at(out, bo).reorder_storage(v[3], v[0], v[1], v[2], b);
  // The partial sums' reduction, named as the split named it (partial.rvars()
  // gives the split variable a qualified name, which reorder rejects).
  accumulate_in_registers(partial, v[3], v[0], {v[1], v[2], b}, {reduction[0], reduction[1], inner}, m);
  return partial;
}

// A sum over images gb(c) += g(ro.x, ro.y, c, ro.z) (a bias gradient): partial
// sums per lane along the image rows, which are contiguous, then across the
// lanes; parallel over channels. Plain vectorizes over the channels instead,
// and each of its lanes read another channel's plane (Model A, two threads:
// cnn1.grad_bias took 0.46 ms of a 6.1 ms step).
void schedule_row_sums(const Stage& stage, const Machine& m) {
  Func f = stage.func;
  const std::vector<Halide::RVar> r = f.rvars(0);  // ro.x, ro.y, ro.z
  const int64_t width = reduction_extents(f, 0)[0];
  const int lanes = width > 0 ? largest_divisor_at_most(width, m.vector_width) : 1;
  if (lanes < 4) return schedule_plain(stage, m);
  Var c = f.args()[0], lane("lane");
  Halide::RVar rows("rows"), in_row("in_row");
  f.compute_root();
  f.update().split(r[0], rows, in_row, lanes);
  Func partial = f.update().rfactor(in_row, lane);
  partial.compute_root().reorder_storage(lane, c).vectorize(lane).parallel(c);
  partial.update().reorder(lane, rows, r[1], r[2], c).vectorize(lane).parallel(c);
}

// The stage of the same layer called `<layer>.<pass>`.
const Stage* sibling(const StageTable& table, const Stage& stage, const std::string& pass) {
  return table.find(stage.name.substr(0, stage.name.rfind('.')) + "." + pass);
}

// Whether the channel dimension `dim` of `stage` fills whole vectors.
bool whole_vectors(const Stage& stage, int dim, const Machine& m) {
  return stage.extents.size() == 4 && stage.extents[dim] % m.vector_width == 0;
}

void require_kind(const Recipe& r, const StageRule& rule, const Stage& stage, const std::vector<std::string>& kinds) {
  if (std::find(kinds.begin(), kinds.end(), stage.kind) == kinds.end())
    fail_at(r.loc, fmt::format("recipe '{}' schedules {} stages, not {} ({})", r.name,
                               fmt::join(kinds, " and "), stage.name, stage.kind));
  if (rule.lowering == "im2col")
    fail_at(r.loc, fmt::format("recipe '{}' schedules the direct lowering of {}, not im2col", r.name, stage.name));
}

}  // namespace

// Enough blocks to give two threads each their own images, few enough that
// summing the partial sums stays cheap.
int64_t default_batch_blocks(int64_t batch) { return largest_divisor_at_most(batch, 4); }

Machine machine_of(const Halide::Target& target) {
  const int width = target.natural_vector_size(Halide::Float(32));
  // 32 registers with AVX-512, 16 with AVX2; leave room for the weights and
  // broadcasts that feed the tile (14 or more of 16 spilled and ran 1.5x slower).
  return {width, target.has_feature(Halide::Target::AVX512) ? 24 : 12};
}

void apply_recipe(const Recipe& r, const StageRule& rule, const Stage& stage, const StageTable& table,
                  const Machine& m) {
  if (r.name == "root") {
    check_options(r, {});
    schedule_root(stage);
  } else if (r.name == "inline") {
    check_options(r, {});
    if (Func(stage.func).has_update_definition())
      fail_at(r.loc, fmt::format("{} is a reduction and cannot be inlined", stage.name));
    Func(stage.func).compute_inline();
  } else if (r.name == "plain") {
    check_options(r, {});
    schedule_plain(stage, m);
  } else if (r.name == "channel_tiles") {
    check_options(r, {"x_tile"});
    require_kind(r, rule, stage, {"conv2d.forward", "conv2d.grad_input"});
    const Stage& weight = *sibling(table, stage, "weight");
    // The channels the reduction runs over: forward reads weight(kx, ky, ci, co)
    // along co and sums over ci; grad_input the other way round.
    const int summed = stage.kind == "conv2d.forward" ? 2 : 3;
    if (weight.extents[summed] < m.vector_width) {
      // Channel tiles of a short reduction spent their time moving the tile
      // (Model A's first layer: 9.4 ms against 0.65 ms with position tiles).
      schedule_position_tiles(stage, Recipe{"position_tiles", {}, r.loc}, m);
      return;
    }
    if (!whole_vectors(stage, 2, m)) return schedule_plain(stage, m);  // the fallback
    schedule_channel_tiles(stage, r, m);
    repack_for(weight, stage.func, summed == 2 ? 3 : 2, m);
  } else if (r.name == "position_tiles") {
    check_options(r, {"x_vector", "channel_block"});
    require_kind(r, rule, stage, {"conv2d.forward", "conv2d.grad_input"});
    schedule_position_tiles(stage, r, m);
  } else if (r.name == "weight_gradient_tiles") {
    check_options(r, {"co_vectors", "batch_blocks"});
    require_kind(r, rule, stage, {"conv2d.grad_weight"});
    if (!whole_vectors(stage, 3, m)) return schedule_plain(stage, m);  // the fallback
    Func reader = schedule_weight_gradient_tiles(stage, r, m);
    repack_for(*sibling(table, stage, "grad_output"), reader, 2, m);
  } else if (r.name == "row_sums") {
    check_options(r, {});
    require_kind(r, rule, stage, {"conv2d.grad_bias"});
    schedule_row_sums(stage, m);
  } else if (r.name == "gpu") {
    check_options(r, {});
    schedule_gpu_stage(stage, table);
  } else {
    fail_at(r.loc, fmt::format("unknown recipe '{}'", r.name));
  }
}

}  // namespace netc

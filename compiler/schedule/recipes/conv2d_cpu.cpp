// The recipes of convolutions on the host: register tiles for the image
// reductions (channel_tiles, position_tiles), the weight gradient
// (weight_gradient_tiles) and the bias gradient (row_sums). Each reads the
// layer's other stages by their passes: the weights ("weight") and the
// output gradient ("grad_output").
#include <fmt/format.h>

#include "schedule/recipes/recipe_functions.h"

namespace netc {
namespace {

using Halide::Func;
using Halide::Var;
using Halide::VarOrRVar;

// An image stage f(x, y, c, n) += weight(...) * input(...): computed in
// register tiles of every channel (vectorized) times `x_tile` x positions
// (a last tile that would cross the row's end is shifted back into it),
// accumulated over the whole reduction before they are stored, x innermost
// or, `channel_innermost`, as computed.
void schedule_channel_tiles(const Stage& stage, const Recipe& r, const Machine& m, bool channel_innermost) {
  Func f = stage.func;
  const int64_t width = stage.extents[0], channels = stage.extents[2];
  const int vectors = int(channels / m.vector_width);
  const int64_t tile = option(r, "x_tile", channel_tile_positions(vectors, width, m));
  if (tile > width) fail_at(r.loc, fmt::format("x_tile {} is wider than the {} positions of a row", tile, width));
  std::vector<Var> v = f.args();  // x, y, c, n
  Var xo("xo"), xi("xi");

  Func out = f.in();
  out.compute_root().split(v[0], xo, xi, int(tile), Halide::TailStrategy::ShiftInwards).parallel(v[3]);
  if (channel_innermost)
    out.reorder_storage(v[2], v[0], v[1], v[3]).reorder(v[2], xi, xo, v[1], v[3]).vectorize(v[2], m.vector_width);
  else
    out.reorder(xi, v[2], xo, v[1], v[3]).vectorize(xi);
  f.compute_at(out, xo).reorder_storage(v[2], v[0], v[1], v[3]);
  accumulate_in_registers(f, v[2], {v[0]}, {v[1], v[3]}, f.rvars(0), m);
}

// An image stage f(x, y, c, n) += weight(...) * input(...) whose reduction
// is short in channels (a first layer reading one input channel): tiles of
// a vector along x times a block of channels, each accumulator a register
// for the whole reduction (then copied out); the input vector is loaded once
// per tap and shared by the block, the weights broadcast. Accumulated in
// the stage's own rows instead, every tap loaded and stored each of them
// (Model A's first layer: 1.0-1.2 ms one thread, AVX-512).
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
  Func out = f.in();
  out.compute_root()
      .split(v[0], xo, xi, int(lanes))
      .split(v[2], co, cb, int(block))
      .reorder(xi, cb, xo, co, v[1], v[3])
      .vectorize(xi)
      .parallel(v[3]);
  f.compute_at(out, xo);
  Machine tile_machine = m;  // one vector of `lanes` along x
  tile_machine.vector_width = int(lanes);
  accumulate_in_registers(f, v[0], {v[2]}, {v[1], v[3]}, f.rvars(0), tile_machine);
}

// A scatter's register tile: `taps` kx taps x `plane` (vectors of input
// channels x output positions). Taps of one position share its output
// gradient's broadcast, so a tile across taps loads less per multiply-add.
struct ScatterTile {
  RegisterTile plane;
  int64_t taps;
  int64_t size() const { return taps * plane.size(); }
  double loads_per_multiply_add() const {
    return double(taps * plane.vectors + plane.columns) / double(size());
  }
};

// The lanes of a scatter's vectors of input channels: whole machine
// vectors, or all of a few.
int scatter_lanes(int64_t channels, const Machine& m) {
  return channels % m.vector_width == 0 ? m.vector_width : largest_divisor_at_most(channels, m.vector_width);
}

// The scatter's tile of one row of `taps` taps that fits the accumulators.
ScatterTile scatter_tile_of(int64_t channels, int64_t out_width, int64_t taps, const Machine& m) {
  const int64_t vectors = channels / scatter_lanes(channels, m);
  return {register_tile(vectors, out_width, m, true, taps), taps};
}

// The input gradient lowered as a scatter (`lowering: scatter`), one image
// at a time: for each output row and tile of `kx_taps` taps x `x_tile`
// output positions x a block of input channels, the tile's columns
// accumulate over the output channels in registers and are then added into
// the image's scattered sums, stored channel-innermost and small enough to
// stay in cache; the input gradient copies them out, in whole vectors of
// channels where they fill vectors (`channel_innermost`, layouts.h), else x
// innermost. The weights are repacked input-channel-innermost. Model C's
// second layer (valid padding): 1.5 ms against 3.1 ms gathered, one thread.
void schedule_scatter_tiles(const Stage& stage, const Recipe& r, const StageTable& table, const Machine& m,
                            bool channel_innermost) {
  const Stage* columns = sibling(table, stage, "grad_columns");
  const Stage* sums = sibling(table, stage, "scattered_grad_input");
  if (!columns || !sums) fail_at(r.loc, fmt::format("scatter_tiles needs {} lowered as a scatter", stage.name));
  const int64_t channels = stage.extents[2], out_width = columns->extents[1], kernel_width = columns->extents[2];
  Machine tile_machine = m;
  tile_machine.vector_width = scatter_lanes(channels, m);
  const int64_t taps = option(r, "kx_taps", scatter_tile_taps(channels, out_width, kernel_width, m));
  if (kernel_width % taps != 0)
    fail_at(r.loc, fmt::format("kx_taps {} does not divide the kernel's {} taps along x", taps, kernel_width));
  ScatterTile tile = scatter_tile_of(channels, out_width, taps, m);
  tile.plane.columns = option(r, "x_tile", tile.plane.columns);
  if (out_width % tile.plane.columns != 0)
    fail_at(r.loc, fmt::format("x_tile {} does not divide the {} output positions of a row", tile.plane.columns,
                               out_width));

  Func gi = stage.func, sum = sums->func, col = columns->func;
  std::vector<Var> v = gi.args();  // x, y, c, n
  for (size_t d = 0; d < v.size(); ++d) gi.bound(v[d], 0, int(stage.extents[d]));  // constant tile extents
  gi.compute_root().parallel(v[3]);
  if (channel_innermost)
    gi.reorder_storage(v[2], v[0], v[1], v[3]).reorder(v[2], v[0], v[1], v[3]).vectorize(v[2], m.vector_width);
  else
    gi.vectorize(v[0], 4, Halide::TailStrategy::GuardWithIf);

  const std::vector<Halide::RVar> rs = sum.rvars(0);  // kx, ky, ox, oy
  Halide::RVar tiles("x_tiles"), in_tile("x_in_tile"), tap_tiles("kx_tiles"), in_tap_tile("kx_in_tile");
  Var blocks("c_blocks"), in_block("c_in_block");
  sum.compute_at(gi, v[3]).reorder_storage(v[2], v[0], v[1], v[3]).vectorize(v[2], tile_machine.vector_width);
  sum.update()
      .split(rs[2], tiles, in_tile, int(tile.plane.columns))
      .split(rs[0], tap_tiles, in_tap_tile, int(tile.taps))
      .split(v[2], blocks, in_block, int(tile_machine.vector_width * tile.plane.vectors))
      .reorder(in_block, in_tile, in_tap_tile, tap_tiles, blocks, tiles, rs[1], rs[3], v[3])
      .vectorize(in_block, tile_machine.vector_width);

  std::vector<Var> c = col.args();  // ci, ox, kx, ky, oy, n
  col.compute_at(sum, tap_tiles).reorder_storage(c);
  accumulate_in_registers(col, c[0], {c[1], c[2]}, {c[3], c[4], c[5]}, col.rvars(0), tile_machine);
  repack_for(*sibling(table, stage, "weight"), col, 2, m);
}

// The weight gradient g(kx, ky, ci, co) += grad(...) * input(...): partial
// sums over `batch_blocks` blocks of images and `x_partials` interleaved
// positions of a row (an rfactor), summed at the end; each in tiles of every
// kx times a block of `co_vectors` vectors of output channels times
// `ci_block` input channels (default one) times the x partials, accumulated
// in registers over its images. Parallel over image
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
  const int64_t gradient_bytes = weight_gradient_image_bytes(stage.extents, reduction_extents(f, 0));
  const int64_t blocks = option(r, "batch_blocks", default_batch_blocks(batch, gradient_bytes, m.cache_bytes));
  if (blocks < 1 || batch % blocks != 0)
    fail_at(r.loc, fmt::format("batch_blocks {} does not divide the batch {}", blocks, batch));

  const int64_t in_channels = stage.extents[2], ci_block = option(r, "ci_block", 1);
  if (ci_block < 1 || in_channels % ci_block != 0)
    fail_at(r.loc, fmt::format("ci_block {} does not divide the {} input channels", ci_block, in_channels));

  std::vector<Var> v = f.args();  // kx, ky, ci, co
  Var b("image_block"), bo("co_block"), bi("co_in_block"), cio("ci_block"), cii("ci_in_block"), rows("ky_ci"),
      work("work");
  Halide::RVar outer("image_blocks"), inner("images_in_block"), x_steps("x_steps"), x_in_step("x_in_step");
  f.compute_root();
  const int64_t row = reduction_extents(f, 0)[0];
  const int64_t x_partials =
      option(r, "x_partials", default_x_partials(taps * (block / m.vector_width) * ci_block, row, m.accumulators));
  if (row % x_partials != 0)
    fail_at(r.loc, fmt::format("x_partials {} does not divide the {} positions of a row", x_partials, row));
  f.update().split(images, outer, inner, int(batch / blocks)).split(reduction[0], x_steps, x_in_step, int(x_partials));
  Var part("x_part");
  Func partial = f.update().rfactor({{outer, b}, {x_in_step, part}});  // partial(kx, ky, ci, co, b, part)

  Func out = partial.in();
  out.compute_root()
      .split(v[3], bo, bi, int(block))
      .split(v[2], cio, cii, int(ci_block))
      .reorder(v[0], bi, cii, part, bo, v[1], cio, b);
  out.fuse(v[1], cio, rows).fuse(rows, b, work).parallel(work);
  partial.compute_at(out, bo).reorder_storage(v[3], v[0], v[2], part, v[1], b);
  // The partial sums' reduction, named as the split named it (partial.rvars()
  // gives the split variable a qualified name, which reorder rejects).
  accumulate_in_registers(partial, v[3], {v[0], v[2], part}, {v[1], b}, {x_steps, reduction[1], inner}, m);
  return partial;
}

// The weight gradient g(kx, ky, ci, co) of a layer with too few output
// channels to fill a vector (LeNet's 1 -> 6, a 4 -> 8 layer): vectors along
// the output rows instead, as partial sums per lane (an rfactor over x, and
// over `batch blocks` of images as in weight_gradient_tiles), each tile of
// every kx tap times a block of output channels accumulated in registers over
// its images, the lanes summed at the end. An input vector is loaded once per
// tap and shared by the block's channels, a gradient vector once per channel
// and shared by the taps. Parallel over image blocks, kernel rows and input
// channels. Plain vectorized kx (5 lanes or fewer) and ran in scalar code.
void schedule_weight_gradient_positions(const Stage& stage, const Machine& m) {
  Func f = stage.func;
  const std::vector<Halide::RVar> reduction = f.rvars(0);  // ro.x, ro.y, ro.z (images)
  const std::vector<int64_t> extents = reduction_extents(f, 0);
  const int lanes = largest_divisor_at_most(extents[0], m.vector_width);
  if (lanes < 4) return schedule_plain(stage, m);
  const int64_t taps = stage.extents[0], out_channels = stage.extents[3], batch = extents[2];
  const int block = largest_divisor_at_most(out_channels, std::max<int64_t>(1, m.accumulators / taps));
  const int64_t blocks =
      default_batch_blocks(batch, weight_gradient_image_bytes(stage.extents, extents), m.cache_bytes);

  std::vector<Var> v = f.args();  // kx, ky, ci, co
  Var lane("lane"), b("image_block"), bo("co_block"), bi("co_in_block"), rows("ky_ci"), work("work");
  Halide::RVar vectors("x_vectors"), in_vector("x_in_vector"), outer("image_blocks"), inner("images_in_block");
  f.compute_root();
  f.update().split(reduction[0], vectors, in_vector, lanes).split(reduction[2], outer, inner, int(batch / blocks));
  Func partial = f.update().rfactor({{in_vector, lane}, {outer, b}});  // partial(kx, ky, ci, co, lane, b)

  Func out = partial.in();
  out.compute_root().split(v[3], bo, bi, block).reorder(lane, v[0], bi, bo, v[1], v[2], b).vectorize(lane);
  out.fuse(v[1], v[2], rows).fuse(rows, b, work).parallel(work);
  partial.compute_at(out, bo).reorder_storage(lane, v[0], v[3], v[1], v[2], b);
  partial.vectorize(lane).unroll(v[0]).unroll(v[3]);
  partial.update()
      .reorder({lane, v[0], v[3], vectors, reduction[1], inner, v[1], v[2], b})
      .vectorize(lane)
      .unroll(v[0])
      .unroll(v[3]);
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


// Whether the channel dimension `dim` of `stage` fills whole vectors.
bool whole_vectors(const Stage& stage, int dim, const Machine& m) {
  return stage.extents.size() == 4 && stage.extents[dim] % m.vector_width == 0;
}

void channel_tiles(const RecipeCall& call) {
  const Stage& stage = call.stage;
  const Machine& m = call.machine;
  if (!tiles_channels(stage, call.table, m)) {
    schedule_position_tiles(stage, Recipe{"position_tiles", {}, call.recipe.loc}, m);
    return;
  }
  schedule_channel_tiles(stage, call.recipe, m, call.stores_channel_innermost(stage.func));
  // The weights weight(kx, ky, ci, co) along the stage's own channels: co
  // forward, ci for the input gradient.
  repack_for(*sibling(call.table, stage, "weight"), stage.func, stage.kind == "conv2d.forward" ? 3 : 2, m);
}

void weight_gradient_tiles(const RecipeCall& call) {
  if (!whole_vectors(call.stage, 3, call.machine))
    return schedule_weight_gradient_positions(call.stage, call.machine);  // few output channels
  Func reader = schedule_weight_gradient_tiles(call.stage, call.recipe, call.machine);
  const Stage& grad_output = *sibling(call.table, call.stage, "grad_output");
  if (!call.stores_channel_innermost(grad_output.func)) repack_for(grad_output, reader, 2, call.machine);
}

// The bias gradient of an output gradient stored channel-innermost sums
// whole vectors of channels (plain); rows are no longer contiguous.
void row_sums(const RecipeCall& call) {
  const Stage* grad_output = sibling(call.table, call.stage, "grad_output");
  if (grad_output && call.stores_channel_innermost(grad_output->func)) return schedule_plain(call.stage, call.machine);
  schedule_row_sums(call.stage, call.machine);
}

}  // namespace

bool tiles_channels(const Stage& stage, const StageTable& table, const Machine& m) {
  const Stage* weight = sibling(table, stage, "weight");
  return weight && stage.extents.size() == 4 &&
         tiles_channels(stage.kind, stage.extents[2], weight->extents[3], m);
}

bool tiles_channels(const std::string& kind, int64_t channels, int64_t out_channels, const Machine& m) {
  // A stage whose own channels fill no vector (LeNet's 6 -> 16 input
  // gradient, which has 6) would leave lanes empty. A forward pass tiles its
  // channels however few it sums over: a first layer reading one channel
  // then stores its output channel-innermost, and so do its pooling and its
  // gradient (layouts.h), which saves the weight gradient's repacked copy and
  // sums the bias gradient in whole vectors (one thread, AVX-512 Xeon: Model
  // A's step 12.1 -> 11.3 ms, Model C's 5.0 -> 4.6, LeNet-5's 6 -> 16 layer
  // 3.7 -> 3.2; an AVX2 target: A 19.7 -> 19.1, C the same). An input
  // gradient that sums fewer output channels than a vector (grad_input reads
  // weight(kx, ky, ci, co) along ci and sums over co) keeps position tiles.
  if (channels % m.vector_width != 0) return false;
  return kind == "conv2d.forward" || out_channels >= m.vector_width;
}

// Of the channel tiles that fit the accumulators (recipes.h), the one a row
// issues fewest instructions for, counting a multiply-add per accumulator
// and a load per weight vector and input position at every tap, and the
// positions a last, shifted tile computes twice. A tile need not divide the
// row: AVX2, Model A's 32 channels in 4 vectors on 14-wide rows, 3
// positions (12 accumulators; the last tile recomputes one) ran cnn2.forward in 4.3 ms,
// the dividing 2 (8 accumulators, too few to hide the multiply-adds'
// latency) in 4.5-4.9 (netc bench --compare: 19.0 against 19.4 ms per
// step). AVX-512, 2 vectors: 7. Its accumulators and broadcasts fit the
// registers (broadcasts_fit: a 16 -> 32 layer on 12-wide rows, AVX-512,
// spilled in tiles of 2 x 12, its forward pass 1.3-3.0 ms; 2 x 6 0.5-0.6 ms).
int64_t channel_tile_positions(int vectors, int64_t width, const Machine& m) {
  int64_t best = 1, best_cost = -1;
  for (int64_t t = 1; t <= std::min<int64_t>(width, std::max(1, m.accumulators / vectors)); ++t) {
    if (t > 1 && !broadcasts_fit(vectors, t, m)) break;
    const int64_t tiles = (width + t - 1) / t;
    const int64_t cost = tiles * (vectors * t + vectors + t);
    if (best_cost < 0 || cost <= best_cost) best = t, best_cost = cost;
  }
  return best;
}

// The tile of one tap that fits the accumulators and the registers
// (register_tile; AVX2, Model A's 16 channels in 2 vectors times 2 of its 14
// positions took 11 ms, 1 vector times 7 6 ms; Model C's 2 vectors times 4
// of 8 positions 1.6 ms, 1 times 8 1.9 ms), unless it loads more than it
// multiplies and the channels fill whole vectors: then the tile across a
// divisor of the kernel row's taps with the most accumulators, then the
// fewest loads per multiply-add, then the fewest taps. One thread: AVX2,
// Model A's second layer 1 vector x 2 positions x 5 taps (10 accumulators,
// 7 loads) instead of 1 x 7 x 1 (7 accumulators, 8 loads), 3-6% faster per
// step; on AVX-512 its tile of one tap, 1 x 14, has more accumulators and
// stays (across taps, 1 x 2 x 5: the same speed). Model C's AVX2 tile (2 x 4, 6 loads) and LeNet-5's 6 channels stay at one
// tap: across taps, 3% and 3-7% slower.
int64_t scatter_tile_taps(int64_t in_channels, int64_t out_width, int64_t kernel_width, const Machine& m) {
  ScatterTile best = scatter_tile_of(in_channels, out_width, 1, m);
  if (in_channels % m.vector_width != 0 || best.loads_per_multiply_add() <= 1) return 1;
  for (int64_t t = 2; t <= kernel_width; ++t) {
    if (kernel_width % t != 0) continue;
    const ScatterTile tile = scatter_tile_of(in_channels, out_width, t, m);
    if (tile.size() > best.size() ||
        (tile.size() == best.size() && tile.loads_per_multiply_add() < best.loads_per_multiply_add()))
      best = tile;
  }
  return best.taps;
}

// Independent accumulators a register tile needs to hide the latency of its
// multiply-adds: about 4 cycles on each of 2 FMA units.
constexpr int64_t kLatencyAccumulators = 8;

// A first layer's tile is every kx tap times one vector of output channels:
// 5 accumulators on AVX-512, each multiply-add waiting on the one before it
// (cnn1's weight gradient at a third of the peak). Partial sums over 2
// interleaved positions make 10 (one thread, Model A: 0.79 -> 0.58 ms).
int64_t default_x_partials(int64_t tile, int64_t row, int accumulators) {
  for (int64_t p = 1; p <= row && tile * p <= accumulators; ++p)
    if (row % p == 0 && tile * p >= kLatencyAccumulators) return p;
  return 1;
}

// Blocks small enough that a block's output gradient fills at most half a
// core's cache, where it stays while every tile of the weight gradient reads
// it again: Model A at batch 125 (the micro-batches of a step of 500), in
// one block of 125 images (3.1 MB), spent 7.5 ms in cnn2's weight gradient
// against 2.8 ms at batch 100 in four blocks of 25 (Intel Xeon, 2 MB of L2
// per core). Otherwise enough blocks to give two threads each their own
// images, few enough that summing the partial sums stays cheap.
int64_t default_batch_blocks(int64_t batch, int64_t gradient_bytes, int64_t cache_bytes) {
  const int64_t images = std::max<int64_t>(1, cache_bytes / 2 / std::max<int64_t>(1, gradient_bytes));
  int64_t blocks = largest_divisor_at_most(batch, 4);
  while (batch / blocks > images) {
    ++blocks;
    while (batch % blocks != 0) ++blocks;
  }
  return blocks;
}

int64_t weight_gradient_image_bytes(const std::vector<int64_t>& extents, const std::vector<int64_t>& reduction) {
  return extents[3] * reduction[0] * reduction[1] * int64_t(sizeof(float));
}

RecipeFunctions conv2d_cpu_recipes() {
  return {
      {"channel_tiles", channel_tiles},
      {"position_tiles", [](const RecipeCall& c) { schedule_position_tiles(c.stage, c.recipe, c.machine); }},
      {"weight_gradient_tiles", weight_gradient_tiles},
      {"row_sums", row_sums},
      {"scatter_tiles",
       [](const RecipeCall& c) {
         schedule_scatter_tiles(c.stage, c.recipe, c.table, c.machine, c.stores_channel_innermost(c.stage.func));
       }},
  };
}

}  // namespace netc

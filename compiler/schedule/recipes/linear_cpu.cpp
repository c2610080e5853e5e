// The recipe of matrix products on the host (matrix_tiles): a linear layer's
// forward pass y(o, n) += w(r, o) x(r, n), its input gradient
// gi(i, n) += w(i, ro) g(ro, n) and its weight gradient
// gw(i, o) += g(o, rn) x(i, rn), each f(a, b) a sum of products of a vector
// along a and a number broadcast along b.
#include "schedule/recipes/recipe_functions.h"

namespace netc {
namespace {

using Halide::Func;
using Halide::TailStrategy;
using Halide::Var;

// The chunks a reduction of `terms` terms is cut into so that the operand a
// tile reads, `term_bytes` a term, fits `budget` bytes a chunk: the fewest
// that divide it, or one where chunks would be short (under 256 terms).
int64_t reduction_chunks(int64_t terms, int64_t term_bytes, int64_t budget) {
  for (int64_t c = 1; c <= terms; ++c)
    if (terms % c == 0 && terms / c * term_bytes <= budget) return terms / c >= 256 ? c : 1;
  return 1;
}

// f(a, b) in register tiles of a few vectors along a times a few b, each
// accumulated over the whole reduction and then copied out; a last tile
// along a that would cross the end is shifted back into it (LeNet-5's 120
// outputs: 16-lane tiles at 0, 32, 64 and 88). The forward pass reads the
// weights w(r, o) along o, so they are repacked o-innermost. Plain
// vectorized o and gathered the weights along it: LeNet-5's fc1.forward
// (400 -> 120) took 0.88 ms of a 5.0 ms step, one AVX-512 thread.
void schedule_matrix_tiles(const RecipeCall& call) {
  const Stage& stage = call.stage;
  const Machine& m = call.machine;
  Func f = stage.func;
  const int64_t rows = stage.extents[0], columns = stage.extents[1];
  const int lanes = rows >= m.vector_width ? m.vector_width : largest_divisor_at_most(rows, m.vector_width);
  if (lanes < 4) return schedule_plain(stage, m);  // a 1-, 2- or 3-wide product: no vectors to fill
  const RegisterTile tile = register_tile(rows / lanes, columns, m, false);

  // The tiles along a outermost where there are several and the operand a
  // tile of them reads (its vectors x the reduction) fits half a core's
  // cache: that operand is then read once, and the one indexed by b, which
  // every tile along a reads, stays cached. The 9216 x 128 weights of a
  // linear layer were read again for each tile of images in the input
  // gradient, the inputs for each tile of outputs in the weight gradient
  // (PyTorch's MNIST example network, one thread, AVX-512: 3.2 and 3.4 ms).
  // Where that operand is larger (the forward pass's weights there, 3.5 MB a
  // tile), the reduction is cut into chunks whose operand fits, summed apart
  // (an rfactor) and added at the end.
  const int64_t rows_per_tile = lanes * tile.vectors, reduction = reduction_extents(f, 0)[0];
  const int64_t term_bytes = rows_per_tile * int64_t(sizeof(float)), budget = m.cache_bytes / 2;
  const int64_t chunks = reduction_chunks(reduction, term_bytes, budget);
  const bool rows_outer = rows > rows_per_tile && term_bytes * (reduction / chunks) <= budget;

  Func tiled = f;  // what the tiles compute: f, or its sums over chunks of the reduction
  std::vector<Halide::RVar> terms = f.rvars(0);
  std::vector<Var> chunk_vars;
  if (chunks > 1) {
    Halide::RVar chunk_index("chunks"), in_chunk("in_chunk");
    Var chunk("chunk");
    f.update().split(terms[0], chunk_index, in_chunk, int(reduction / chunks));
    tiled = f.update().rfactor(chunk_index, chunk);  // tiled(a, b, chunk)
    const Var a = f.args()[0];  // f adds the chunks' sums
    f.compute_root().vectorize(a, lanes, TailStrategy::GuardWithIf);
    f.update().vectorize(a, lanes, TailStrategy::GuardWithIf);
    terms = {in_chunk};
    chunk_vars = {chunk};
  }
  std::vector<Var> v = tiled.args();  // a, b[, chunk]
  Var ao("ao"), ai("ai"), bo("bo"), bi("bi");
  Func out = tiled.in();
  out.compute_root()
      .split(v[0], ao, ai, int(rows_per_tile), TailStrategy::ShiftInwards)
      .split(v[1], bo, bi, int(tile.columns))
      .vectorize(ai, lanes);
  std::vector<Halide::VarOrRVar> order = {ai, bi};
  if (rows_outer) order.insert(order.end(), {bo, ao});
  else order.insert(order.end(), {ao, bo});
  order.insert(order.end(), chunk_vars.begin(), chunk_vars.end());
  out.reorder(order);
  const Var& outermost = rows_outer ? ao : bo;
  const int64_t outer_tiles = rows_outer ? (rows + rows_per_tile - 1) / rows_per_tile : columns / tile.columns;
  if (worth_parallel(f, stage.extents) && outer_tiles > 1) out.parallel(outermost);
  tiled.compute_at(out, rows_outer ? bo : ao);
  Machine tile_machine = m;
  tile_machine.vector_width = lanes;
  accumulate_in_registers(tiled, v[0], {v[1]}, chunk_vars, terms, tile_machine);
  if (stage.kind == "linear.forward") repack_for(*sibling(call.table, stage, "weight"), tiled, 1, m);
}

}  // namespace

RecipeFunctions linear_cpu_recipes() { return {{"matrix_tiles", schedule_matrix_tiles}}; }

}  // namespace netc

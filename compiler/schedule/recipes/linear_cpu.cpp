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
  const RegisterTile tile = register_tile(rows / lanes, columns, m.accumulators, false);

  std::vector<Var> v = f.args();  // a, b
  Var ao("ao"), ai("ai"), bo("bo"), bi("bi");
  Func out = f.in();
  out.compute_root()
      .split(v[0], ao, ai, int(lanes * tile.vectors), TailStrategy::ShiftInwards)
      .split(v[1], bo, bi, int(tile.columns))
      .reorder(ai, bi, ao, bo)
      .vectorize(ai, lanes);
  if (worth_parallel(f, stage.extents) && columns / tile.columns > 1) out.parallel(bo);
  f.compute_at(out, ao);
  Machine tile_machine = m;
  tile_machine.vector_width = lanes;
  accumulate_in_registers(f, v[0], {v[1]}, {}, f.rvars(0), tile_machine);
  if (stage.kind == "linear.forward") repack_for(*sibling(call.table, stage, "weight"), f, 1, m);
}

}  // namespace

RecipeFunctions linear_cpu_recipes() { return {{"matrix_tiles", schedule_matrix_tiles}}; }

}  // namespace netc

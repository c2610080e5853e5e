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

// A register tile: `vectors` vectors along a times `columns` along b.
struct MatrixTile {
  int64_t vectors, columns;
  int64_t size() const { return vectors * columns; }
  // A vector load per vector and a broadcast per column, per multiply-add.
  double loads_per_multiply_add() const { return double(vectors + columns) / double(size()); }
};

// Of the tiles that fit the accumulators (whole vectors along a, a divisor
// of b's extent), the largest, then the one with the fewest loads.
MatrixTile matrix_tile(int64_t row_vectors, int64_t columns, int accumulators) {
  MatrixTile best{1, 1};
  for (int64_t v = 1; v <= std::min<int64_t>(row_vectors, accumulators); ++v) {
    const MatrixTile t{v, largest_divisor_at_most(columns, accumulators / v)};
    if (t.size() > best.size() ||
        (t.size() == best.size() && t.loads_per_multiply_add() < best.loads_per_multiply_add()))
      best = t;
  }
  return best;
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
  const MatrixTile tile = matrix_tile(rows / lanes, columns, m.accumulators);

  std::vector<Var> v = f.args();  // a, b
  Var ao("ao"), ai("ai"), bo("bo"), bi("bi");
  Func out = f.in();
  out.compute_root()
      .split(v[0], ao, ai, int(lanes * tile.vectors), TailStrategy::ShiftInwards)
      .split(v[1], bo, bi, int(tile.columns))
      .reorder(ai, bi, ao, bo)
      .vectorize(ai, lanes);
  int64_t work = rows * columns;
  for (int64_t e : reduction_extents(f, 0)) work *= std::max<int64_t>(1, e);
  if (work >= kParallelWork && columns / tile.columns > 1) out.parallel(bo);
  f.compute_at(out, ao);
  Machine tile_machine = m;
  tile_machine.vector_width = lanes;
  accumulate_in_registers(f, v[0], v[1], {}, f.rvars(0), tile_machine);
  if (stage.kind == "linear.forward") repack_for(*sibling(call.table, stage, "weight"), f, 1, m);
}

}  // namespace

RecipeFunctions linear_cpu_recipes() { return {{"matrix_tiles", schedule_matrix_tiles}}; }

}  // namespace netc

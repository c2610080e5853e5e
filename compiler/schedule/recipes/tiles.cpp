// What the register-tiling recipes share (conv2d_cpu.cpp, linear_cpu.cpp):
// options, sibling stages, repacked operands and tiles of accumulators.
#include "schedule/recipes/recipe_functions.h"

#include <algorithm>

namespace netc {

using Halide::Func;
using Halide::Var;
using Halide::VarOrRVar;

int64_t option(const Recipe& r, const std::string& name, int64_t fallback) {
  auto it = r.options.find(name);
  return it == r.options.end() ? fallback : it->second;
}

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

void accumulate_in_registers(Func f, const Var& lanes, const std::vector<Var>& unrolled, const std::vector<Var>& outer,
                             const std::vector<Halide::RVar>& reduction, const Machine& m) {
  Var vectors("vectors"), lane("lane");
  std::vector<VarOrRVar> tile = {lane};
  tile.insert(tile.end(), unrolled.begin(), unrolled.end());
  tile.push_back(vectors);
  std::vector<VarOrRVar> order = tile;
  order.insert(order.end(), reduction.begin(), reduction.end());
  order.insert(order.end(), outer.begin(), outer.end());
  f.split(lanes, vectors, lane, m.vector_width).reorder(tile).vectorize(lane).unroll(vectors);
  f.update().split(lanes, vectors, lane, m.vector_width).reorder(order).vectorize(lane).unroll(vectors);
  for (const Var& u : unrolled) {
    f.unroll(u);
    f.update().unroll(u);
  }
}

bool broadcasts_fit(int64_t users, int64_t columns, const Machine& m) {
  return users <= 1 || users * columns + columns <= m.registers;
}

RegisterTile register_tile(int64_t vectors, int64_t columns, const Machine& m, bool dividing_vectors, int64_t taps) {
  const int64_t accumulators = std::max<int64_t>(1, m.accumulators / taps);
  RegisterTile best{1, 1};
  for (int64_t v = 1; v <= std::min<int64_t>(vectors, accumulators); ++v) {
    if (dividing_vectors && vectors % v != 0) continue;
    int64_t limit = accumulators / v;
    while (limit > 1 && !broadcasts_fit(taps * v, limit, m)) --limit;
    const RegisterTile t{v, largest_divisor_at_most(columns, limit)};
    if (t.size() > best.size() ||
        (t.size() == best.size() && t.loads_per_multiply_add() < best.loads_per_multiply_add()))
      best = t;
  }
  return best;
}

const Stage* sibling(const StageTable& table, const Stage& stage, const std::string& pass) {
  return table.find(stage.name.substr(0, stage.name.rfind('.')) + "." + pass);
}

}  // namespace netc

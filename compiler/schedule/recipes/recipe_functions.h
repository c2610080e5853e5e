// The recipes' functions, grouped by target and op: each group's file
// registers its `name -> function` rows, and schedule/recipes.cpp joins the
// groups into the one table apply_recipe looks names up in. Which stages and
// targets a recipe fits, and its options, are its row in the front end's
// table (front/schedule_specs.h), checked before its function runs.
#pragma once

#include <map>
#include <set>
#include <string>

#include "schedule/recipes.h"

namespace netc {

// What a recipe's function schedules: `stage` (not a reference), by the
// recipe as written (its options, its location for errors).
struct RecipeCall {
  const Recipe& recipe;
  const Stage& stage;
  const StageTable& table;
  const Machine& machine;
  // The Halide names of the image stages stored channel-innermost
  // (schedule/layouts.h).
  const std::set<std::string>& channel_innermost;
  bool stores_channel_innermost(const Halide::Func& f) const { return channel_innermost.count(f.name()) != 0; }
};

using RecipeFunction = void (*)(const RecipeCall&);
using RecipeFunctions = std::map<std::string, RecipeFunction>;

RecipeFunctions common_recipes();      // recipes/common.cpp: root, inline, plain
RecipeFunctions conv2d_cpu_recipes();  // recipes/conv2d_cpu.cpp: the register tiles of convolutions
RecipeFunctions linear_cpu_recipes();  // recipes/linear_cpu.cpp: the register tiles of matrix products
RecipeFunctions gpu_recipes();         // recipes/gpu.cpp: gpu

// Shared with the op-specific recipes (recipes/common.cpp). `channel_innermost`:
// an image stage stored and vectorized channels innermost.
void schedule_plain(const Stage& stage, const Machine& m, bool channel_innermost = false);
// The constant extents of the reduction variables of update `u` of f, 0 for
// one that is not constant.
std::vector<int64_t> reduction_extents(const Halide::Func& f, int u);
int largest_divisor_at_most(int64_t n, int64_t limit);
// Whether f over `extents` has work enough to run in parallel: waking the
// other threads costs more than they save below 65,536 operations (a step
// has dozens of small stages: updates, biases, the loss).
bool worth_parallel(const Halide::Func& f, const std::vector<int64_t>& extents);
// For each pure variable of f, whether update `u` writes at the variable
// itself (and so has a loop over it).
std::vector<bool> pure_in_update(const Halide::Func& f, int u);
// The register tiles' helpers (recipes/tiles.cpp).
// A recipe option's value, or `fallback` where the file does not give it.
int64_t option(const Recipe& r, const std::string& name, int64_t fallback);
// The stage of the same layer called `<layer>.<pass>` (nullptr if none).
const Stage* sibling(const StageTable& table, const Stage& stage, const std::string& pass);
// A copy of `producer` for `consumer` alone, computed once per call and
// stored with dimension `inner` innermost, so that the consumer's vector
// loads along that dimension are dense.
void repack_for(const Stage& producer, const Halide::Func& consumer, int inner, const Machine& m);
// The register tile of f (computed at a tile of its wrapper): `lanes` in
// whole vectors of m.vector_width and the dimensions `unrolled` fully
// unrolled (the first innermost), in the pure definition and in the update,
// whose reduction runs outside them so that every accumulator stays in a
// register for the whole reduction; `outer` are f's other dimensions (extent
// 1 inside the tile).
void accumulate_in_registers(Halide::Func f, const Halide::Var& lanes, const std::vector<Halide::Var>& unrolled,
                             const std::vector<Halide::Var>& outer, const std::vector<Halide::RVar>& reduction,
                             const Machine& m);

// A register tile of `vectors` vectors (of a row) times `columns` (numbers
// broadcast along another dimension), repeated for `taps` taps that share
// its broadcasts: of those whose accumulators and broadcasts fit
// (broadcasts_fit), with a divisor of the columns (and of the vectors,
// `dividing_vectors`), the largest, then the one with the fewest loads, a
// vector per vector and a broadcast per column, per multiply-add.
struct RegisterTile {
  int64_t vectors, columns;
  int64_t size() const { return vectors * columns; }
  double loads_per_multiply_add() const { return double(vectors + columns) / double(size()); }
};
RegisterTile register_tile(int64_t vectors, int64_t columns, const Machine& m, bool dividing_vectors,
                           int64_t taps = 1);

// Whether a tile of `users` accumulators per column (its vectors times its
// taps) times `columns` fits the registers with each column's broadcast,
// which several users keep in a register (one reads it from memory): 2
// vectors x 12 positions on AVX-512 and 2 x 6 on AVX2 spilled and ran 2-5x
// slower (channel_tiles of a 16 -> 32 layer on 12-wide rows, Model C's
// first layer).
bool broadcasts_fit(int64_t users, int64_t columns, const Machine& m);

// Whether channel_tiles computes the convolution stage `stage` in channel
// tiles (recipes/conv2d_cpu.cpp); it falls back to position tiles otherwise.
bool tiles_channels(const Stage& stage, const StageTable& table, const Machine& m);

}  // namespace netc

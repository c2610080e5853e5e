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
RecipeFunctions gpu_recipes();         // recipes/gpu.cpp: gpu

// Shared with the op-specific recipes (recipes/common.cpp). `channel_innermost`:
// an image stage stored and vectorized channels innermost.
void schedule_plain(const Stage& stage, const Machine& m, bool channel_innermost = false);
// The constant extents of the reduction variables of update `u` of f, 0 for
// one that is not constant.
std::vector<int64_t> reduction_extents(const Halide::Func& f, int u);
int largest_divisor_at_most(int64_t n, int64_t limit);
// For each pure variable of f, whether update `u` writes at the variable
// itself (and so has a loop over it).
std::vector<bool> pure_in_update(const Halide::Func& f, int u);
// Whether channel_tiles computes the convolution stage `stage` in channel
// tiles (recipes/conv2d_cpu.cpp); it falls back to position tiles otherwise.
bool tiles_channels(const Stage& stage, const StageTable& table, const Machine& m);

}  // namespace netc

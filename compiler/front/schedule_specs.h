// What schedule files may say, one table per concept, each row the one place
// that states a fact: the recipes (which stages and targets each fits, its
// options), the directives (their arguments), and the lowering variants each
// stage kind offers. The parser (schedule_file.cpp) checks files against
// these tables; the schedule layer (compiler/schedule/) keeps one function
// per recipe and directive row, found by name, and the tuner
// (schedule/variants.cpp) draws its candidates from them.
//
// Halide-free, like the rest of the front end.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace netc {

// A built-in schedule generator; its function is in compiler/schedule/recipes/.
struct RecipeSpec {
  std::string name;
  std::vector<std::string> targets;  // the schedule targets it is for: "host", "cuda"
  std::vector<std::string> kinds;    // the stage kinds it schedules; empty: any stage
  std::vector<std::string> options;  // its integer options; each has a default that fits the stage
  std::string lowering = "direct";   // the lowering of a stage of its kinds it schedules
  // The layer's other stages that lowering adds and this recipe schedules
  // with the stage (their own rules do not apply): "grad_columns".
  std::vector<std::string> scheduled_passes = {};

  bool for_target(const std::string& target) const;
  bool fits_kind(const std::string& kind) const;
  bool has_option(const std::string& option) const;
};

// Every recipe, in the order messages list them.
const std::vector<RecipeSpec>& recipe_specs();
// The recipe called `name`, or nullptr.
const RecipeSpec* find_recipe(const std::string& name);
std::vector<std::string> recipe_names();

// A Halide directive's argument signatures: v a variable of the stage, n a
// new variable name, s a stage name, i a positive integer, z any integer,
// t a tail strategy; '+' repeats the previous letter, '?' makes it optional.
// Its function is in compiler/schedule/directives.cpp.
// The largest factor a directive takes (split, tile, parallel, gpu sizes):
// Halide unrolls and vectorizes loops of such extents, and its compile time
// and code grow with them.
inline constexpr int64_t kMaxFactor = 1024;
// The largest factor of a loop unrolled or vectorized at once.
inline constexpr int64_t kMaxUnrolledFactor = 64;
// The largest integer option of a recipe (tiles, vectors, blocks).
inline constexpr int64_t kMaxRecipeOption = 64;

struct DirectiveSpec {
  std::string name;
  std::vector<std::string> signatures;
  bool pure_only = false;    // not on an update definition
  bool update_only = false;  // only on an update definition
  int64_t max_factor = kMaxFactor;  // of its 'i' arguments
};

// Every directive, in the order messages list them.
const std::vector<DirectiveSpec>& directive_specs();
// The directive called `name`, or nullptr.
const DirectiveSpec* find_directive(const std::string& name);
std::vector<std::string> directive_names();

// The lowering every stage has.
inline const std::string kDirectLowering = "direct";

// A lowering a stage kind offers besides the direct one (lower/ops/<op>.cpp
// makes it when the schedule chooses it).
struct LoweringVariant {
  std::string kind;  // the stage kind that offers it: "conv2d.forward"
  std::string name;  // "im2col"
  std::vector<std::string> added_passes;  // the stages of the layer it adds: "patches"
};

const std::vector<LoweringVariant>& lowering_variants();
// The variants `kind` offers besides the direct lowering.
std::vector<LoweringVariant> lowering_variants_of(const std::string& kind);
// "direct" and every variant's name, once each.
std::vector<std::string> lowering_names();
// The stage kinds that offer the lowering `name`.
std::vector<std::string> kinds_offering(const std::string& name);

}  // namespace netc

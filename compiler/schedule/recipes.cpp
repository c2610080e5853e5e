// The recipe table: name -> function, joined from the groups of
// schedule/recipes/ (one file per target and op), and the checks every
// recipe gets from its row of the front end's table before it runs.
#include "schedule/recipes.h"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "front/schedule_specs.h"
#include "schedule/recipes/recipe_functions.h"

namespace netc {
namespace {

const RecipeFunctions& recipe_functions() {
  static const RecipeFunctions table = [] {
    RecipeFunctions all;
    for (const RecipeFunctions& group : {common_recipes(), conv2d_cpu_recipes(), linear_cpu_recipes(), gpu_recipes()})
      all.insert(group.begin(), group.end());
    return all;
  }();
  return table;
}

// A recipe made for particular stage kinds schedules their direct lowering.
void require_kind(const RecipeSpec& spec, const Recipe& r, const StageRule& rule, const Stage& stage) {
  if (spec.kinds.empty()) return;
  if (!spec.fits_kind(stage.kind))
    fail_at(r.loc, fmt::format("recipe '{}' schedules {} stages, not {} ({})", r.name, fmt::join(spec.kinds, " and "),
                               stage.name, stage.kind));
  const std::string lowering = rule.lowering.value_or(kDirectLowering);
  if (lowering != spec.lowering)
    fail_at(r.loc, fmt::format("recipe '{}' schedules the {} lowering of {}, not {}", r.name, spec.lowering,
                               stage.name, lowering));
}

// This machine's L2 cache per core as the C library reads it from the CPU
// (512 KB to 2 MB on recent x86 cores), within bounds; 2 MB where it says
// nothing.
int64_t core_cache_bytes() {
  const long reported = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (reported <= 0) return int64_t(2) << 20;
  return std::clamp<int64_t>(reported, int64_t(256) << 10, int64_t(64) << 20);
}

}  // namespace

Machine machine_of(const Halide::Target& target) {
  const int width = target.natural_vector_size(Halide::Float(32));
  // 32 registers with AVX-512, 16 with AVX2; leave room for the weights and
  // broadcasts that feed the tile (14 or more of 16 spilled and ran 1.5x slower).
  const bool avx512 = target.has_feature(Halide::Target::AVX512);
  return {width, avx512 ? 24 : 12, avx512 ? 32 : 16, core_cache_bytes()};
}

void apply_recipe(const Recipe& r, const StageRule& rule, const Stage& stage, const StageTable& table,
                  const Machine& m, const std::set<std::string>& channel_innermost) {
  const RecipeSpec* spec = find_recipe(r.name);
  auto function = recipe_functions().find(r.name);
  if (!spec || function == recipe_functions().end()) fail_at(r.loc, fmt::format("unknown recipe '{}'", r.name));
  require_kind(*spec, r, rule, stage);
  function->second({r, stage, table, m, channel_innermost});
}

std::vector<std::string> recipe_function_names() {
  std::vector<std::string> names;
  for (const auto& [name, function] : recipe_functions()) names.push_back(name);
  return names;
}

}  // namespace netc

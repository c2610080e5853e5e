// The schedule tables: every recipe and directive the front end accepts has
// a function in the schedule layer and the other way round, and every stage
// kind the tables name is one that lowering makes.
#include <catch2/catch.hpp>

#include <algorithm>

#include "front/schedule_specs.h"
#include "schedule/directives.h"
#include "schedule/recipes.h"

namespace netc {
namespace {

std::vector<std::string> sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("every recipe row has a function and every function a row", "[schedule][tables]") {
  CHECK(sorted(recipe_names()) == recipe_function_names());
}

TEST_CASE("every directive row has a function and every function a row", "[schedule][tables]") {
  CHECK(sorted(directive_names()) == directive_function_names());
}

TEST_CASE("the tables name stage kinds that exist", "[schedule][tables]") {
  for (const RecipeSpec& spec : recipe_specs()) {
    CHECK_FALSE(spec.targets.empty());
    for (const std::string& kind : spec.kinds) {
      INFO(spec.name << ": " << kind);
      CHECK(is_stage_kind(kind));
    }
  }
  for (const LoweringVariant& variant : lowering_variants()) {
    CHECK(is_stage_kind(variant.kind));
    const std::string op = variant.kind.substr(0, variant.kind.find('.'));
    for (const std::string& pass : variant.added_passes) CHECK(is_stage_kind(op + "." + pass));
  }
}

}  // namespace netc

#include "schedule/layouts.h"

#include <map>
#include <vector>

#include "schedule/recipes/recipe_functions.h"

namespace netc {
namespace {

// Whether `stage` reads a stage of `innermost`, directly or through stages
// computed inline (relu2.forward between cnn2.forward and maxpool2).
bool reads_any(const Stage& stage, const std::set<std::string>& innermost,
               const std::map<std::string, const Stage*>& by_func,
               const std::function<std::string(const Stage&)>& recipe_of) {
  std::vector<Halide::Internal::Function> pending = {stage.func.function()};
  std::set<std::string> visited;
  while (!pending.empty()) {
    Halide::Internal::Function f = pending.back();
    pending.pop_back();
    for (const auto& [name, callee] : Halide::Internal::find_direct_calls(f)) {
      if (name == f.name() || !visited.insert(name).second) continue;
      if (innermost.count(name)) return true;
      auto producer = by_func.find(name);
      if (producer != by_func.end() && recipe_of(*producer->second) == "inline") pending.push_back(callee);
    }
  }
  return false;
}

}  // namespace

std::set<std::string> channel_innermost_stages(const StageTable& table,
                                               const std::function<std::string(const Stage&)>& recipe_of,
                                               const Machine& m) {
  std::map<std::string, const Stage*> by_func;
  for (const Stage& s : table.stages())
    if (!s.reference) by_func.emplace(s.func.name(), &s);
  std::set<std::string> innermost;
  for (const Stage& s : table.stages()) {
    if (s.reference || s.extents.size() != 4 || s.extents[2] % m.vector_width != 0) continue;
    const std::string recipe = recipe_of(s);
    const bool tiled = recipe == "channel_tiles" && s.kind == "conv2d.forward" && tiles_channels(s, table, m);
    const bool scattered = recipe == "scatter_tiles";  // copied out of its channel-innermost sums
    const bool follows = recipe == "plain" && !Halide::Func(s.func).has_update_definition() &&
                         reads_any(s, innermost, by_func, recipe_of);
    if (tiled || scattered || follows) innermost.insert(s.func.name());
  }
  return innermost;
}

}  // namespace netc

#include "schedule/variants.h"

#include <algorithm>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "front/schedule_specs.h"
#include "lower/pipeline.h"
#include "schedule/recipes/recipe_functions.h"
#include "schedule/schedule.h"
#include "schedule/schedule_writer.h"

namespace netc {
namespace {

// Halide names a reduction variable "r$x"; files write it "r.x".
std::string file_name(std::string halide) {
  std::replace(halide.begin(), halide.end(), '$', '.');
  return halide;
}

// The divisors of n below `below`, largest first.
std::vector<int64_t> divisors_below(int64_t n, int64_t below) {
  std::vector<int64_t> d;
  for (int64_t k = std::min(n, below - 1); k >= 1; --k)
    if (n % k == 0) d.push_back(k);
  return d;
}

Directive directive(const std::string& name, std::vector<std::string> args = {}) { return {name, std::move(args), {}}; }

Recipe recipe(const std::string& name, std::map<std::string, int64_t> options = {}) {
  return {name, std::move(options), {}};
}

StageRule rule_for(const std::string& stage, std::optional<Recipe> r) {
  StageRule rule;
  rule.selector = stage;
  rule.recipe = std::move(r);
  return rule;
}

// A split of `var` by `factor`, guarded where the extent leaves a tail.
Directive split(const std::string& var, int64_t extent, int64_t factor) {
  std::vector<std::string> args = {var, var + "o", var + "i", std::to_string(factor)};
  if (extent % factor != 0) args.push_back("guard_with_if");
  return directive("split", args);
}

// The rule `file` applies to `stage`, written out with absent fields and
// their defaults alike: two files that agree on it for every stage schedule
// the pipelines alike.
std::string applied_rule(const ScheduleFile& file, const NamedStage& stage) {
  StageRule r = file.merged_rule(stage.first, stage.second);
  if (r.lowering == kDirectLowering) r.lowering.reset();
  if (r.pure && r.pure->empty()) r.pure.reset();
  if (r.update && r.update->empty()) r.update.reset();
  ScheduleFile one;
  one.target = file.target;
  one.rules = {r};
  return write_schedule(one);
}

// The recipes tried on a stage, most promising first, each where its row of
// recipe_specs() fits the stage's kind and target. Missing: root (the
// directive variants start from it) and gpu (CUDA schedules are not tuned).
const std::vector<std::string> kTriedRecipes = {
    "channel_tiles", "position_tiles", "scatter_tiles", "weight_gradient_tiles",
    "matrix_tiles",  "row_sums",       "plain",         "inline"};

}  // namespace

ScheduleVariants::ScheduleVariants(const Graph& graph, int64_t batch, const Halide::Target& target, int threads)
    : graph_(graph), batch_(batch), target_(target), machine_(machine_of(target)), threads_(threads) {}

std::vector<StageInfo> ScheduleVariants::stages(const ScheduleFile& schedule) const {
  Scheduler scheduler(schedule, target_);
  std::vector<LoweredPipeline> pipelines;
  pipelines.push_back(lower_train_step(graph_, batch_, scheduler.variants()));
  pipelines.push_back(lower_inference(graph_, batch_, scheduler.variants()));
  std::set<std::string> outputs;
  for (const LoweredPipeline& p : pipelines)
    for (const Halide::Func& f : p.outputs) outputs.insert(f.name());

  std::map<std::string, std::set<std::string>> consumers;
  for (const LoweredPipeline& p : pipelines)
    for (const Stage& stage : p.stages.stages())
      if (!stage.reference)
        for (const auto& [callee, function] : Halide::Internal::find_direct_calls(stage.func.function()))
          if (callee != stage.name) consumers[callee].insert(stage.name);

  std::vector<StageInfo> infos;
  std::set<std::string> seen;
  for (const LoweredPipeline& p : pipelines)
    for (const Stage& stage : p.stages.stages()) {
      if (stage.reference || !seen.insert(stage.name).second) continue;
      Halide::Func f = stage.func;
      StageInfo s;
      s.name = stage.name;
      s.kind = stage.kind;
      s.extents = stage.extents;
      s.has_update = f.has_update_definition();
      s.output = outputs.count(f.name()) != 0;
      s.consumers.assign(consumers[stage.name].begin(), consumers[stage.name].end());
      if (const Stage* weight = sibling(p.stages, stage, "weight")) s.weight_extents = weight->extents;
      if (const Stage* forward = sibling(p.stages, stage, "forward")) s.forward_extents = forward->extents;
      for (const Halide::Var& v : f.args()) s.pure_vars.push_back(v.name());
      if (s.has_update) {
        for (const Halide::RVar& r : f.rvars(0)) s.reduction_vars.push_back(file_name(r.name()));
        s.reduction_extents = reduction_extents(f, 0);
        const std::vector<Halide::Expr>& args = f.update_args(0);
        s.update_is_pure = args.size() == s.pure_vars.size();
        for (size_t d = 0; d < args.size() && s.update_is_pure; ++d) {
          const auto* v = args[d].as<Halide::Internal::Variable>();
          s.update_is_pure = v && v->name == s.pure_vars[d];
        }
      }
      infos.push_back(std::move(s));
    }
  return infos;
}

std::set<std::string> ScheduleVariants::stage_names(const ScheduleFile& file) const {
  Scheduler scheduler(file, target_);
  std::set<std::string> names;
  for (const LoweredPipeline& p :
       {lower_train_step(graph_, batch_, scheduler.variants()), lower_inference(graph_, batch_, scheduler.variants())})
    for (const Stage& stage : p.stages.stages()) names.insert(stage.name);
  return names;
}

ScheduleFile ScheduleVariants::without_stale_rules(ScheduleFile file) const {
  std::set<std::string> names = stage_names(file);
  auto stale = [&](const StageRule& r) {
    return !is_glob(r.selector) && !is_stage_kind(r.selector) && !names.count(r.selector);
  };
  file.rules.erase(std::remove_if(file.rules.begin(), file.rules.end(), stale), file.rules.end());
  return file;
}

ScheduleFile ScheduleVariants::with_rule(const ScheduleFile& base, const StageInfo& stage, StageRule rule) const {
  ScheduleFile f = base;
  auto same_selector = [&](const StageRule& r) { return r.selector == rule.selector; };
  f.rules.erase(std::remove_if(f.rules.begin(), f.rules.end(), same_selector), f.rules.end());
  // Rules of the stage's kind or a glob still apply field by field: what the
  // variant leaves out must not be taken from them.
  StageRule inherited = f.merged_rule(stage.name, stage.kind);
  if (!rule.lowering && inherited.lowering.value_or("direct") != "direct") rule.lowering = "direct";
  if (!rule.pure && inherited.pure) rule.pure.emplace();
  if (!rule.update && inherited.update) rule.update.emplace();
  f.rules.push_back(std::move(rule));
  return f;
}

std::vector<Variant> ScheduleVariants::pipeline_variants(const ScheduleFile& base) const {
  std::vector<Variant> out;
  if (!base.autoscheduler) {
    ScheduleFile plain = base;
    auto catch_all = std::find_if(plain.rules.begin(), plain.rules.end(), [](const StageRule& r) { return r.selector == "*"; });
    if (catch_all == plain.rules.end()) {
      plain.rules.insert(plain.rules.begin(), rule_for("*", recipe("plain")));
    } else {
      catch_all->recipe = recipe("plain");
      catch_all->pure.reset();
      catch_all->update.reset();
    }
    out.push_back({"pipeline", "plain for every stage without a rule of its own", plain});
  }
  for (const auto& [name, beam, label] :
       {std::tuple{"Adams2019", 1, "Adams2019 autoscheduler (beam 1)"},
        std::tuple{"Mullapudi2016", 0, "Mullapudi2016 autoscheduler"}, std::tuple{"Li2018", 0, "Li2018 autoscheduler"}}) {
    ScheduleFile autoscheduled;
    autoscheduled.target = base.target;
    autoscheduled.autoscheduler = Autoscheduler{name, threads_, 0, 0, beam, {}};
    out.push_back({"pipeline", label, autoscheduled});
  }
  return out;
}

std::vector<Variant> ScheduleVariants::stage_variants(const ScheduleFile& base, const StageInfo& stage) const {
  std::vector<Variant> out;
  if (base.autoscheduler) return out;
  std::vector<NamedStage> named;
  for (const StageInfo& s : stages(base)) named.push_back({s.name, s.kind});
  if (scheduled_with_others(base, named).count(stage.name)) return out;
  add_recipe_variants(base, stage, out);
  add_lowering_variants(base, stage, out);
  add_fusion_variant(base, stage, out);
  add_directive_variants(base, stage, out);
  for (Variant& v : out) v.file = without_stale_rules(std::move(v.file));
  // (A recipe the base already applies to the stage, through a rule of its
  // kind, would repeat the base's trial under another name.)
  std::vector<std::string> base_rules;
  for (const NamedStage& s : named) base_rules.push_back(applied_rule(base, s));
  auto same_as_base = [&](const Variant& v) {
    for (size_t k = 0; k < named.size(); ++k)
      if (applied_rule(v.file, named[k]) != base_rules[k]) return false;
    return true;
  };
  out.erase(std::remove_if(out.begin(), out.end(), same_as_base), out.end());
  return out;
}

void ScheduleVariants::add_recipe_variants(const ScheduleFile& base, const StageInfo& stage,
                                           std::vector<Variant>& out) const {
  const std::string target = target_.has_gpu_feature() ? "cuda" : "host";
  auto add = [&](const std::string& label, Recipe r) {
    const std::string& lowering = find_recipe(r.name)->lowering;
    StageRule rule = rule_for(stage.name, std::move(r));
    if (lowering != kDirectLowering) rule.lowering = lowering;  // the recipe schedules that lowering only
    out.push_back({stage.name, label, with_rule(base, stage, std::move(rule))});
  };
  for (const std::string& name : kTriedRecipes) {
    const RecipeSpec& spec = *find_recipe(name);
    if (!spec.for_target(target) || !spec.fits_kind(stage.kind)) continue;
    if (name == "inline" && (stage.has_update || stage.output)) continue;  // Halide inlines neither
    // Where channel_tiles falls back to position tiles, position tiles are
    // what a base of channel_tiles already computes.
    const std::optional<Recipe> applied = base.merged_rule(stage.name, stage.kind).recipe;
    if (name == "position_tiles" && applied && applied->name == "channel_tiles" && !tiles_channels(stage)) continue;
    if (name == "channel_tiles") add_channel_tiles(stage, add);
    else if (name == "weight_gradient_tiles") add_weight_gradient_tiles(stage, add);
    else if (name == "scatter_tiles") add_scatter_tiles(stage, add);
    else add(name, recipe(name));
  }
}

// The register tiles, first as the recipe sizes them, then the two widest
// others that divide the rows: where the recipe tiles channels (else it
// falls back to position tiles).
void ScheduleVariants::add_channel_tiles(const StageInfo& stage, const AddRecipe& add) const {
  if (!tiles_channels(stage)) return;
  const int64_t lanes = machine_.vector_width, accumulators = machine_.accumulators;
  const int64_t width = stage.extents[0], vectors = stage.extents[2] / lanes;
  const int64_t chosen = channel_tile_positions(int(vectors), width, machine_);
  add("channel_tiles", recipe("channel_tiles"));
  int others = 0;
  for (int64_t t : divisors_below(width, std::max<int64_t>(1, accumulators / vectors) + 1))
    if (t != chosen && t > 1 && others++ < 2)
      add(fmt::format("channel_tiles x_tile={}", t), recipe("channel_tiles", {{"x_tile", t}}));
}

bool ScheduleVariants::tiles_channels(const StageInfo& stage) const {
  return stage.extents.size() == 4 && stage.weight_extents.size() == 4 &&
         netc::tiles_channels(stage.kind, stage.extents[2], stage.weight_extents[3], machine_);
}

void ScheduleVariants::add_weight_gradient_tiles(const StageInfo& stage, const AddRecipe& add) const {
  const int64_t lanes = machine_.vector_width, accumulators = machine_.accumulators;
  if (stage.extents[3] % lanes != 0) return;
  const int64_t taps = stage.extents[0], vectors = stage.extents[3] / lanes;
  const int64_t fitting = std::max<int64_t>(1, std::min(vectors, accumulators / taps));
  add("weight_gradient_tiles", recipe("weight_gradient_tiles"));
  for (int64_t v : divisors_below(vectors, vectors + 1))
    if (v != fitting && v * taps <= accumulators)
      add(fmt::format("weight_gradient_tiles co_vectors={}", v), recipe("weight_gradient_tiles", {{"co_vectors", v}}));
  // Tiles across input channels too, as many as the accumulators hold: more
  // accumulators hide the multiply-adds' latency and share each gradient
  // vector (one thread, Intel Xeon AVX-512: Model A 3% faster, Model C 5-10%
  // slower, on its 8-wide rows).
  const std::vector<int64_t> inputs = divisors_below(stage.extents[2], accumulators / (taps * fitting) + 1);
  if (!inputs.empty() && inputs.front() > 1)
    add(fmt::format("weight_gradient_tiles ci_block={}", inputs.front()),
        recipe("weight_gradient_tiles", {{"ci_block", inputs.front()}}));
  // Partial sums over interleaved positions of a row: none where the recipe
  // sums some apart, else the fewest that fit the accumulators.
  const int64_t row = stage.reduction_extents.empty() ? 1 : stage.reduction_extents[0], tile = taps * fitting;
  if (default_x_partials(tile, row, int(accumulators)) > 1) {
    add("weight_gradient_tiles x_partials=1", recipe("weight_gradient_tiles", {{"x_partials", 1}}));
  } else {
    for (int64_t p = 2; tile * p <= accumulators; ++p)
      if (row % p == 0) {
        add(fmt::format("weight_gradient_tiles x_partials={}", p), recipe("weight_gradient_tiles", {{"x_partials", p}}));
        break;
      }
  }
  // Partial sums over other numbers of image blocks: more give more
  // parallel work, fewer less summing at the end.
  for (int64_t b : divisors_below(batch_, 11))
    if (b != default_batch_blocks(batch_, weight_gradient_image_bytes(stage.extents, stage.reduction_extents),
                                  machine_.cache_bytes))
      add(fmt::format("weight_gradient_tiles batch_blocks={}", b), recipe("weight_gradient_tiles", {{"batch_blocks", b}}));
}

// The tile the recipe chooses, then tiles across each other number of the
// kernel row's taps that divides it (one tap included): which is fastest
// depends on the vector width and the channels (AVX2, Model A: 5 taps, 3-6%
// faster per step; Model C: one tap, 3% faster).
void ScheduleVariants::add_scatter_tiles(const StageInfo& stage, const AddRecipe& add) const {
  add("scatter_tiles", recipe("scatter_tiles"));
  if (stage.weight_extents.empty() || stage.forward_extents.empty()) return;
  const int64_t kernel_width = stage.weight_extents[0];
  const int64_t chosen = scatter_tile_taps(stage.extents[2], stage.forward_extents[0], kernel_width, machine_);
  for (int64_t taps : divisors_below(kernel_width, kernel_width + 1))
    if (taps != chosen && taps <= machine_.accumulators)
      add(fmt::format("scatter_tiles kx_taps={}", taps), recipe("scatter_tiles", {{"kx_taps", taps}}));
}

// Each lowering variant the stage's kind offers (lowering_variants()), with
// the stages it adds (shared by the layer's passes) computed plain: for a
// convolution, matrix products over unrolled patches.
void ScheduleVariants::add_lowering_variants(const ScheduleFile& base, const StageInfo& stage,
                                             std::vector<Variant>& out) const {
  const std::string layer = stage.name.substr(0, stage.name.rfind('.'));
  const std::string op = stage.kind.substr(0, stage.kind.find('.'));
  for (const LoweringVariant& variant : lowering_variants_of(stage.kind)) {
    if (base.merged_rule(stage.name, stage.kind).lowering == variant.name) continue;
    StageRule rule = rule_for(stage.name, recipe("plain"));
    rule.lowering = variant.name;
    ScheduleFile f = with_rule(base, stage, rule);
    for (const std::string& pass : variant.added_passes) {
      StageInfo added;
      added.name = layer + "." + pass;
      added.kind = op + "." + pass;
      f = with_rule(f, added, rule_for(added.name, recipe("plain")));
    }
    out.push_back({stage.name, variant.name + " lowering, plain", f});
  }
}

// Loops as directives on a stage at root: the innermost dimension in vectors
// of `width` lanes, the next one unrolled by `unroll` (several accumulators in
// registers while a reduction runs), and the loop over `parallel` across threads.
void ScheduleVariants::add_directive_variants(const ScheduleFile& base, const StageInfo& stage,
                                              std::vector<Variant>& out) const {
  const std::vector<std::string>& v = stage.pure_vars;
  const std::vector<int64_t>& e = stage.extents;
  const int64_t lanes = machine_.vector_width;
  // (A reduction into other places than its pure variables keeps Halide's
  // serial loops: directives could not reorder them around the vectors.)
  if (v.empty() || e[0] < lanes || (stage.has_update && !stage.update_is_pure)) return;
  const size_t dims = v.size();

  auto add = [&](int64_t width, int64_t unroll, size_t parallel) {
    const bool unrolled = unroll > 1 && dims >= 2 && e[1] >= unroll;
    const bool threaded = dims >= 2 && parallel < dims && e[parallel] >= threads_;
    std::string label = fmt::format("root, vectorize {} by {}", v[0], width);
    if (unrolled) label += fmt::format(", unroll {} by {}", v[1], unroll);
    if (threaded) label += ", parallel " + v[parallel];

    StageRule rule = rule_for(stage.name, recipe("root"));
    rule.pure.emplace();
    rule.pure->push_back(directive("vectorize", {v[0], std::to_string(width)}));
    if (unrolled && !stage.has_update) rule.pure->push_back(directive("unroll", {v[1], std::to_string(unroll)}));
    if (threaded) rule.pure->push_back(directive("parallel", {v[parallel]}));
    if (stage.has_update) {
      // A register tile: vector lanes times unrolled rows, the reduction
      // outside it and the rest of the loops outside the reduction.
      std::vector<Directive>& u = rule.update.emplace();
      u.push_back(split(v[0], e[0], width));
      std::vector<std::string> order = {v[0] + "i"};
      if (unrolled) {
        u.push_back(split(v[1], e[1], unroll));
        order.push_back(v[1] + "i");
      }
      order.insert(order.end(), stage.reduction_vars.begin(), stage.reduction_vars.end());
      order.push_back(v[0] + "o");
      if (unrolled) order.push_back(v[1] + "o");
      for (size_t d = unrolled ? 2 : 1; d < dims; ++d) order.push_back(v[d]);
      u.push_back(directive("reorder", order));
      u.push_back(directive("vectorize", {v[0] + "i"}));
      if (unrolled) u.push_back(directive("unroll", {v[1] + "i"}));
      if (threaded) u.push_back(directive("parallel", {unrolled && parallel == 1 ? v[1] + "o" : v[parallel]}));
    }
    out.push_back({stage.name, label, with_rule(base, stage, rule)});
  };
  add(lanes, 4, dims - 1);
  if (e[0] >= 2 * lanes) add(2 * lanes, 1, dims - 1);
  if (dims >= 3) add(lanes, 1, dims - 2);
  // A finer parallel grain: the two outermost loops fused into one, for a
  // batch too small to keep every thread busy in equal shares.
  if (dims >= 3 && threads_ > 1 && !stage.has_update) {
    const std::string outer = v[dims - 1], inner = v[dims - 2];
    StageRule rule = rule_for(stage.name, recipe("root"));
    rule.pure = {directive("vectorize", {v[0], std::to_string(lanes)}),
                 directive("fuse", {inner, outer, inner + outer}), directive("parallel", {inner + outer})};
    out.push_back({stage.name, fmt::format("root, vectorize {} by {}, parallel {} and {} fused", v[0], lanes, inner,
                                           outer),
                   with_rule(base, stage, rule)});
  }
}

// A small stage read by one other (a padding, a pooling's or ReLU's
// gradient): computed per image inside its consumer's loop over images,
// while its values are still in cache, instead of a pass over memory of its
// own. Only for a consumer without an update (Halide computes a stage at a
// loop of the definition that reads it) that the schedule does not inline.
void ScheduleVariants::add_fusion_variant(const ScheduleFile& base, const StageInfo& stage,
                                          std::vector<Variant>& out) const {
  if (stage.has_update || stage.output || stage.consumers.size() != 1 || stage.pure_vars.empty()) return;
  const std::vector<StageInfo> all = stages(base);
  auto consumer = std::find_if(all.begin(), all.end(), [&](const StageInfo& s) { return s.name == stage.consumers[0]; });
  if (consumer == all.end() || consumer->has_update || consumer->pure_vars.size() < 2) return;
  const StageRule consumer_rule = base.merged_rule(consumer->name, consumer->kind);
  if (!consumer_rule.recipe || consumer_rule.recipe->name == "inline") return;
  const std::string images = consumer->pure_vars.back();
  StageRule rule = rule_for(stage.name, recipe("root"));
  rule.pure.emplace();
  rule.pure->push_back(directive("compute_at", {consumer->name, images}));
  if (stage.extents[0] >= machine_.vector_width)
    rule.pure->push_back(directive("vectorize", {stage.pure_vars[0], std::to_string(machine_.vector_width)}));
  out.push_back({stage.name, fmt::format("computed at {} per {}", consumer->name, images), with_rule(base, stage, rule)});
}

}  // namespace netc

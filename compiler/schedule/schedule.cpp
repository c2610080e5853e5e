#include "schedule/schedule.h"

#include <fmt/format.h>

#include "front/schedule_specs.h"
#include "schedule/directives.h"
#include "schedule/layouts.h"
#include "schedule/recipes.h"

namespace netc {
namespace {

// Fails unless the rule's lowering is one `stage` offers (lowering_variants()).
void check_lowering(const StageRule& rule, const Stage& stage) {
  const std::string& lowering = *rule.lowering;
  if (lowering == kDirectLowering) return;
  for (const LoweringVariant& v : lowering_variants_of(stage.kind))
    if (v.name == lowering) return;
  fail_at(rule.lowering_loc, fmt::format("{} ({}) has no {} lowering; {} have", stage.name, stage.kind, lowering,
                                         fmt::join(kinds_offering(lowering), " and ")));
}

// Halide's autoscheduler plugins ship with libHalide, in its halide14/ folder.
void load_autoscheduler(const std::string& name) {
  static std::set<std::string> loaded;
  if (loaded.count(name)) return;
  std::string lib = "libautoschedule_";
  for (char ch : name) lib += char(std::tolower(static_cast<unsigned char>(ch)));
  const char* dir = std::getenv("NETC_HALIDE_PLUGIN_DIR");
  Halide::load_plugin(std::string(dir && *dir ? dir : NETC_HALIDE_PLUGIN_DIR) + "/" + lib + ".so");
  loaded.insert(name);
}

}  // namespace

Scheduler::Scheduler(ScheduleFile file, const Halide::Target& target) : file_(std::move(file)), target_(target) {
  const std::string wanted = target.has_gpu_feature() ? "cuda" : "host";
  if (file_.target != wanted)
    fail_at(file_.target_loc, fmt::format("this schedule is for target {}, not {}", file_.target, wanted));
}

VariantChooser Scheduler::variants() const {
  const ScheduleFile* file = &file_;
  return [file](const std::string& name, const std::string& kind) {
    return file->merged_rule(name, kind).lowering.value_or("direct");
  };
}

void Scheduler::apply(LoweredPipeline& p) {
  for (size_t i = 0; i < file_.rules.size(); ++i) {
    const StageRule& rule = file_.rules[i];
    for (const Stage& stage : p.stages.stages()) {
      if (!ScheduleFile::selects(rule.selector, stage.name, stage.kind)) continue;
      used_rules_.insert(i);
      if (rule.lowering && !is_glob(rule.selector)) check_lowering(rule, stage);
      if (stage.reference && (rule.recipe || rule.pure || rule.update) && !is_glob(rule.selector))
        fail_at(rule.loc, fmt::format("{} is not computed by this pipeline (it is an input or another stage's "
                                      "value) and cannot be scheduled",
                                      stage.name));
    }
  }
  if (file_.autoscheduler) {
    autoschedule(p);
  } else {
    apply_rules(p);
  }
}

std::set<std::string> scheduled_with_others(const ScheduleFile& file, const std::vector<NamedStage>& stages) {
  std::set<std::string> names;
  for (const auto& [name, kind] : stages) {
    const StageRule rule = file.merged_rule(name, kind);
    const RecipeSpec* spec = rule.recipe ? find_recipe(rule.recipe->name) : nullptr;
    if (!spec) continue;
    const std::string layer = name.substr(0, name.rfind('.'));
    for (const std::string& pass : spec->scheduled_passes) names.insert(layer + "." + pass);
  }
  return names;
}

void Scheduler::apply_rules(LoweredPipeline& p) {
  const Machine m = machine_of(target_);
  std::vector<NamedStage> computed;
  for (const Stage& stage : p.stages.stages())
    if (!stage.reference) computed.push_back({stage.name, stage.kind});
  const std::set<std::string> skipped = scheduled_with_others(file_, computed);
  const std::set<std::string> channel_innermost = channel_innermost_stages(
      p.stages,
      [&](const Stage& s) {
        const StageRule rule = file_.merged_rule(s.name, s.kind);
        return rule.recipe && !skipped.count(s.name) ? rule.recipe->name : std::string();
      },
      m);
  for (const Stage& stage : p.stages.stages()) {
    if (stage.reference || skipped.count(stage.name)) continue;
    StageRule rule = file_.merged_rule(stage.name, stage.kind);
    try {
      if (rule.recipe) apply_recipe(*rule.recipe, rule, stage, p.stages, m, channel_innermost);
    } catch (const Halide::Error& e) {
      fail_at(rule.recipe->loc, fmt::format("Halide rejects recipe '{}' on {}: {}", rule.recipe->name, stage.name,
                                            e.what()));
    }
    if (rule.pure) apply_directives(stage, -1, *rule.pure, p.stages);
    if (rule.update) apply_directives(stage, 0, *rule.update, p.stages);
  }
}

void Scheduler::autoschedule(LoweredPipeline& p) {
  const Autoscheduler& a = *file_.autoscheduler;
  Halide::MachineParams params = Halide::MachineParams::generic();
  if (a.parallelism) params.parallelism = a.parallelism;
  if (a.last_level_cache_size) params.last_level_cache_size = uint64_t(a.last_level_cache_size);
  if (a.balance) params.balance = a.balance;
  // Halide 14's Adams2019 takes its beam size from the environment only.
  if (a.beam_size) setenv("HL_BEAM_SIZE", std::to_string(a.beam_size).c_str(), 1);
  try {
    load_autoscheduler(a.name);
    p.pipeline.auto_schedule(a.name, target_, params);
  } catch (const Halide::Error& e) {
    // Not bad input: the autoscheduler could not handle a valid pipeline.
    throw std::runtime_error(a.loc.format(
        fmt::format("Halide's autoscheduler {} failed on {}: {}", a.name, p.function_name, e.what())));
  }
}

void Scheduler::check_every_rule_used() const {
  for (size_t i = 0; i < file_.rules.size(); ++i) {
    const StageRule& rule = file_.rules[i];
    if (used_rules_.count(i) || is_glob(rule.selector) || is_stage_kind(rule.selector)) continue;
    fail_at(rule.loc, fmt::format("no stage is named '{}' and no stage kind is called so; run `netc bench GRAPH` "
                                  "to list the stages",
                                  rule.selector));
  }
}

}  // namespace netc

// Schedule variants for `netc tune`: from a schedule file, the few other
// schedule files worth timing, either for the whole pipeline (an
// autoscheduler, every stage `plain`) or for one stage by name (recipes and
// their options, lowering variants, directives). Each variant is a complete
// schedule file; whether it is correct and fast is for the tuner to find out.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "front/graph.h"
#include "schedule/recipes.h"
#include "front/schedule_file.h"

namespace netc {

// What variants of a stage depend on: the stage as a schedule lowers it.
struct StageInfo {
  std::string name, kind;
  std::vector<int64_t> extents;           // of the pure dimensions, innermost first
  std::vector<std::string> pure_vars;     // innermost first
  std::vector<std::string> reduction_vars;  // of the first update, innermost first, as files write them ("r.x")
  bool has_update = false;
  bool update_is_pure = false;  // the first update writes f(x, y, ...) at the pure variables: directives may use them
  bool output = false;          // an output of the training step or inference: never inlined
  std::vector<std::string> consumers;  // the stages that read it, in either pipeline
  std::vector<int64_t> weight_extents;  // its layer's weights (kx, ky, ci, co for a convolution), if any
  std::vector<int64_t> forward_extents;  // its layer's forward output (x, y, c, n for a convolution), if any
  std::vector<int64_t> reduction_extents;  // of the first update, innermost first
};

struct Variant {
  std::string stage;  // the stage it varies, or "pipeline"
  std::string label;  // what it tries, e.g. "channel_tiles x_tile=7"
  ScheduleFile file;
};

class ScheduleVariants {
 public:
  // Variants of schedules of `graph` at `batch` for `target`, for pipelines
  // run with `threads` threads.
  ScheduleVariants(const Graph& graph, int64_t batch, const Halide::Target& target, int threads);

  // The stages `schedule` computes (with its lowering variants), in the
  // training step's order, then those only inference has.
  std::vector<StageInfo> stages(const ScheduleFile& schedule) const;

  // Whole-pipeline variants of `base`: every stage that `base` leaves to its
  // catch-all rule `plain`; Halide's autoschedulers Adams2019 (beam 1),
  // Mullapudi2016 and Li2018, each for `threads` cores.
  std::vector<Variant> pipeline_variants(const ScheduleFile& base) const;

  // Variants of one stage of `base` (a file with rules, not an
  // autoscheduler), most promising first: its kind's recipes with their
  // options where they fit, another lowering, `plain`, `inline`, computed
  // per image inside its one consumer, and vectorized (in the target's
  // vectors), unrolled or otherwise parallel loops as directives.
  std::vector<Variant> stage_variants(const ScheduleFile& base, const StageInfo& stage) const;

 private:
  // `base` with `rule` for the stage `stage` (replacing a rule of that
  // selector), and whatever else the rule needs said explicitly.
  ScheduleFile with_rule(const ScheduleFile& base, const StageInfo& stage, StageRule rule) const;
  // Drops rules naming a stage that the file's lowerings no longer make.
  ScheduleFile without_stale_rules(ScheduleFile file) const;
  std::set<std::string> stage_names(const ScheduleFile& file) const;

  using AddRecipe = std::function<void(const std::string& label, Recipe recipe)>;
  void add_recipe_variants(const ScheduleFile& base, const StageInfo& stage, std::vector<Variant>& out) const;
  // The options worth timing depend on the stage's extents and the machine.
  void add_channel_tiles(const StageInfo& stage, const AddRecipe& add) const;
  // Whether channel_tiles tiles the stage's channels (else position tiles).
  bool tiles_channels(const StageInfo& stage) const;
  void add_weight_gradient_tiles(const StageInfo& stage, const AddRecipe& add) const;
  void add_scatter_tiles(const StageInfo& stage, const AddRecipe& add) const;
  void add_lowering_variants(const ScheduleFile& base, const StageInfo& stage, std::vector<Variant>& out) const;
  void add_directive_variants(const ScheduleFile& base, const StageInfo& stage, std::vector<Variant>& out) const;
  void add_fusion_variant(const ScheduleFile& base, const StageInfo& stage, std::vector<Variant>& out) const;

  const Graph& graph_;
  int64_t batch_;
  Halide::Target target_;
  Machine machine_;
  int threads_;
};

}  // namespace netc

// THE SCHEDULE, kept apart from the algorithm (compiler/lower/): it reads the
// stage table of a lowered pipeline and applies what a schedule file
// (schedule_file.h, docs/schedules.md) says: built-in recipes, Halide
// directives, lowering variants, or one of Halide's autoschedulers.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "lower/pipeline.h"
#include "front/schedule_file.h"

namespace netc {

using NamedStage = std::pair<std::string, std::string>;  // name, kind

// The stages that a recipe schedules along with the stage it is on (its
// row's scheduled passes, as scatter_tiles schedules the columns and sums of
// a scattered input gradient): their own rules do not apply, since Halide
// cannot undo what those rules would split, and tuning them changes nothing.
std::set<std::string> scheduled_with_others(const ScheduleFile& file, const std::vector<NamedStage>& stages);

// Applies one schedule file to the pipelines of one graph. Problems are
// InputErrors at the file's FILE:LINE:COLUMN where they have one.
class Scheduler {
 public:
  Scheduler(ScheduleFile file, const Halide::Target& target);

  // The lowering variants the file chooses, for lower_train_step/lower_inference.
  VariantChooser variants() const;
  // Schedules every stage of `p`.
  void apply(LoweredPipeline& p);
  // After every pipeline of the graph is scheduled: fails at a rule that
  // names a stage none of them has.
  void check_every_rule_used() const;

  const ScheduleFile& file() const { return file_; }

 private:
  void apply_rules(LoweredPipeline& p);
  void autoschedule(LoweredPipeline& p);

  ScheduleFile file_;
  Halide::Target target_;
  std::set<size_t> used_rules_;
};

}  // namespace netc

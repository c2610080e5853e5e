// Schedule files (docs/schedules.md): which schedule each stage of a lowered
// pipeline gets, as data. A file either gives rules for stages, selected by
// name ("cnn2.forward"), by op kind ("conv2d.forward") or by a glob
// ("update.*", "*"), or names one of Halide's autoschedulers.
//
// This header is Halide-free: parsing and checking need no pipeline; the
// rules are applied by compiler/schedule/schedule.h.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "front/graph.h"

namespace netc {

// One Halide directive, e.g. `split: [x, xo, xi, 8]`: its arguments are
// variable or stage names and integers, kept as written.
struct Directive {
  std::string name;
  std::vector<std::string> args;
  SourceLoc loc;
};

// A built-in schedule generator (its row of recipe_specs() in
// front/schedule_specs.h, its function in compiler/schedule/recipes/) with
// its integer options, e.g. `recipe: {name: channel_tiles, x_tile: 2}`.
struct Recipe {
  std::string name;
  std::map<std::string, int64_t> options;
  SourceLoc loc;
};

// What a file says about the stages its selector matches. Every field is
// optional: of several matching rules, the later one's field wins.
struct StageRule {
  std::string selector;
  SourceLoc loc;
  std::optional<Recipe> recipe;
  std::optional<std::string> lowering;  // "direct" or a variant of lowering_variants()
  SourceLoc lowering_loc;
  std::optional<std::vector<Directive>> pure;    // on the pure definition
  std::optional<std::vector<Directive>> update;  // on the (first) update
};

struct Autoscheduler {
  std::string name;  // Adams2019, Mullapudi2016 or Li2018
  int parallelism = 0;  // 0: the number of cores
  int64_t last_level_cache_size = 0;  // bytes; 0: Halide's default
  float balance = 0;  // 0: Halide's default
  int beam_size = 0;  // Adams2019's beam; 0: its default (32, which needs tens of GB here)
  SourceLoc loc;
};

struct ScheduleFile {
  std::string path;  // as given, for messages
  std::string target;  // "host" or "cuda"
  SourceLoc target_loc;
  std::optional<Autoscheduler> autoscheduler;
  std::vector<StageRule> rules;

  // Whether `selector` selects a stage called `name` of kind `kind`: equal to
  // either, or a glob ('*', '?') that matches the name.
  static bool selects(const std::string& selector, const std::string& name, const std::string& kind);
  // The rules for one stage merged in file order.
  StageRule merged_rule(const std::string& name, const std::string& kind) const;
};

// Whether `selector` is a glob ('*', '?', '[...]') over stage names.
bool is_glob(const std::string& selector);

// Whether `selector` is a stage kind: "<op>.<pass>" of a pass that op
// declares (Op::passes, or grad_sum), or one of the loss.* and update.* kinds.
bool is_stage_kind(const std::string& selector);

// Reads and checks a schedule file; every problem is an InputError located
// at FILE:LINE:COLUMN. `name` is the file name for messages.
ScheduleFile parse_schedule(const std::string& text, const std::string& name);
ScheduleFile load_schedule(const std::string& path);
// The schedule a build for `target` uses: the file at `path`, or the target's
// built-in default when `path` is empty.
ScheduleFile schedule_for(const std::string& target, const std::string& path);

// The built-in schedule of a target ("host", "cuda"): the shipped file
// schedules/<cpu|cuda>/default.yaml, compiled into netc.
const std::string& default_schedule_text(const std::string& target);
ScheduleFile default_schedule(const std::string& target);
// The reference schedule of a target, schedules/<cpu|cuda>/root.yaml (every
// stage at root, serial), also compiled in: what others are checked against.
const std::string& reference_schedule_text(const std::string& target);
ScheduleFile reference_schedule(const std::string& target);

}  // namespace netc

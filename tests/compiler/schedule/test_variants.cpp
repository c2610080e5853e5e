// The variants `netc tune` tries: valid schedule files that the scheduler
// applies to the graph, each changing what it says it changes.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "lower/pipeline.h"
#include "schedule/recipes.h"
#include "schedule/schedule.h"
#include "schedule/schedule_writer.h"
#include "schedule/variants.h"

namespace netc {
namespace {

Graph graph(const std::string& name) { return load_graph(std::string(NETC_SOURCE_DIR) + "/graphs/" + name + ".yaml"); }

// Written and read back, then applied to both pipelines as netc compiles them.
void check_applies(const Graph& g, int64_t batch, const Variant& v) {
  INFO(v.stage << ": " << v.label << "\n" << write_schedule(v.file));
  ScheduleFile file = parse_schedule(write_schedule(v.file), "variant.yaml");
  Scheduler scheduler(file, Halide::get_host_target());
  LoweredPipeline train = lower_train_step(g, batch, scheduler.variants());
  LoweredPipeline inference = lower_inference(g, batch, scheduler.variants());
  CHECK_NOTHROW(scheduler.apply(train));
  CHECK_NOTHROW(scheduler.apply(inference));
  CHECK_NOTHROW(scheduler.check_every_rule_used());
}

const StageInfo& stage_named(const std::vector<StageInfo>& stages, const std::string& name) {
  for (const StageInfo& s : stages)
    if (s.name == name) return s;
  FAIL("no stage " << name);
  throw;
}

std::vector<std::string> labels(const std::vector<Variant>& variants) {
  std::vector<std::string> l;
  for (const Variant& v : variants) l.push_back(v.label);
  return l;
}

}  // namespace

TEST_CASE("every variant of every stage of Model A is a schedule the scheduler applies", "[schedule][variants]") {
  Graph g = graph("model_a");
  ScheduleVariants variants(g, 8, Halide::get_host_target(), 2);
  ScheduleFile root = reference_schedule("host");
  // (Halide 14's Mullapudi2016 fails on the training step with an internal
  // error: netc tune logs that as a failed trial.)
  for (const Variant& v : variants.pipeline_variants(root))
    if (!v.file.autoscheduler || v.file.autoscheduler->name != "Mullapudi2016") check_applies(g, 8, v);
  size_t count = 0, finer_grain = 0;
  for (const StageInfo& stage : variants.stages(root))
    for (const Variant& v : variants.stage_variants(root, stage)) {
      CHECK(v.stage == stage.name);
      check_applies(g, 8, v);
      ++count;
      finer_grain += v.label.find("fused") != std::string::npos;
    }
  CHECK(count > 60);
  CHECK(finer_grain >= 3);
}

TEST_CASE("stage variants fit the stage: tile options, lowerings, inlining", "[schedule][variants]") {
  Graph g = graph("model_a");
  Halide::Target target = Halide::get_host_target();
  const int lanes = machine_of(target).vector_width;
  ScheduleVariants variants(g, 8, target, 2);
  ScheduleFile root = reference_schedule("host");
  std::vector<StageInfo> stages = variants.stages(root);

  const StageInfo& forward = stage_named(stages, "cnn2.forward");
  CHECK(forward.has_update);
  CHECK(forward.update_is_pure);
  CHECK(forward.reduction_vars == std::vector<std::string>{"r.x", "r.y", "r.z"});
  std::vector<std::string> l = labels(variants.stage_variants(root, forward));
  CHECK(l[0] == "channel_tiles");
  CHECK(std::count(l.begin(), l.end(), "position_tiles") == 1);
  CHECK(std::count(l.begin(), l.end(), "im2col lowering, plain") == 1);
  CHECK(std::find(l.begin(), l.end(), "inline") == l.end());  // a reduction
  for (const Variant& v : variants.stage_variants(root, forward)) {
    StageRule r = v.file.merged_rule("cnn2.forward", "conv2d.forward");
    if (r.recipe->name == "channel_tiles" && r.recipe->options.count("x_tile"))
      CHECK(14 % r.recipe->options.at("x_tile") == 0);  // cnn2's output is 14 wide
  }

  // The im2col variant computes the matrices it adds, and names no stage the
  // pipelines lack once the other variants go back to the direct lowering.
  Variant im2col = variants.stage_variants(root, forward)[std::find(l.begin(), l.end(), "im2col lowering, plain") - l.begin()];
  CHECK(im2col.file.merged_rule("cnn2.patches", "conv2d.patches").recipe->name == "plain");
  for (const Variant& v : variants.stage_variants(im2col.file, forward)) {
    if (v.file.merged_rule("cnn2.forward", "conv2d.forward").lowering.value_or("direct") != "direct") continue;
    for (const StageRule& r : v.file.rules) CHECK(r.selector != "cnn2.patches");
  }

  // A recipe of another lowering brings it along; from there, the direct
  // recipes go back to the direct lowering.
  const StageInfo& grad_input = stage_named(stages, "cnn2.grad_input");
  l = labels(variants.stage_variants(root, grad_input));
  const auto scatter_at = std::find(l.begin(), l.end(), "scatter_tiles");
  REQUIRE(scatter_at != l.end());
  // Tiles across each divisor of the kernel row's 5 taps but the one the
  // recipe chooses itself.
  CHECK(grad_input.weight_extents == std::vector<int64_t>{5, 5, 16, 32});
  CHECK(grad_input.forward_extents == std::vector<int64_t>{14, 14, 32, 8});
  const int64_t chosen_taps = scatter_tile_taps(16, 14, 5, machine_of(target));
  for (int taps : {1, 5})
    CHECK(std::count(l.begin(), l.end(), fmt::format("scatter_tiles kx_taps={}", taps)) == (taps != chosen_taps));
  CHECK(std::count_if(l.begin(), l.end(), [](const std::string& s) { return s.find("kx_taps=") != s.npos; }) == 1);
  const Variant scatter = variants.stage_variants(root, grad_input)[scatter_at - l.begin()];
  CHECK(scatter.file.merged_rule("cnn2.grad_input", "conv2d.grad_input").lowering == "scatter");
  for (const Variant& v : variants.stage_variants(scatter.file, grad_input))
    if (v.label == "channel_tiles")
      CHECK(v.file.merged_rule("cnn2.grad_input", "conv2d.grad_input").lowering.value_or("direct") == "direct");
  // The stages scatter_tiles schedules itself have no variants of their own.
  const std::vector<StageInfo> scattered = variants.stages(scatter.file);
  CHECK(variants.stage_variants(scatter.file, stage_named(scattered, "cnn2.grad_columns")).empty());
  CHECK(variants.stage_variants(scatter.file, stage_named(scattered, "cnn2.scattered_grad_input")).empty());

  // Weight gradients summed over other numbers of image blocks, each dividing
  // the batch (8 here; the recipe's own choice is 4).
  l = labels(variants.stage_variants(root, stage_named(stages, "cnn2.grad_weight")));
  for (int blocks : {8, 2, 1})
    CHECK(std::count(l.begin(), l.end(), fmt::format("weight_gradient_tiles batch_blocks={}", blocks)) == 1);
  CHECK(std::count(l.begin(), l.end(), "weight_gradient_tiles batch_blocks=4") == 0);
  // Tiles across as many of the 16 input channels as the accumulators hold
  // besides every tap times the output channels' vectors (AVX-512: 24 / (5 x
  // 2) -> 2; AVX2: 12 / (5 x 2) -> none).
  const Machine m = machine_of(target);
  const int64_t fitting = std::min<int64_t>(32 / lanes, m.accumulators / 5), ci_block = m.accumulators / (5 * fitting);
  INFO(fmt::format("{}", fmt::join(l, "; ")));
  CHECK(std::count(l.begin(), l.end(), fmt::format("weight_gradient_tiles ci_block={}", ci_block)) == (ci_block > 1));
  l = labels(variants.stage_variants(root, stage_named(stages, "cnn1.grad_weight")));
  CHECK(std::count_if(l.begin(), l.end(), [](const std::string& s) { return s.find("ci_block") != s.npos; }) == 0);
  // Partial sums over interleaved positions of cnn1's 28-wide rows: none
  // where the recipe sums 2 apart (AVX-512: 5 taps x 1 vector), else 2 if
  // they fit (AVX2: 5 x 2 vectors, 20 accumulators of 12 do not).
  const int64_t tile = 5 * std::min<int64_t>(16 / lanes, m.accumulators / 5);
  const int64_t partials = default_x_partials(tile, 28, m.accumulators);
  CHECK(partials == (tile < 8 && 2 * tile <= m.accumulators ? 2 : 1));
  std::vector<std::string> expected;
  if (partials > 1) expected.push_back("weight_gradient_tiles x_partials=1");
  else if (2 * tile <= m.accumulators) expected.push_back("weight_gradient_tiles x_partials=2");
  std::vector<std::string> got;
  std::copy_if(l.begin(), l.end(), std::back_inserter(got), [](const std::string& s) { return s.find("x_partials") != s.npos; });
  CHECK(got == expected);

  const StageInfo& padded = stage_named(stages, "cnn1.padded_input");
  l = labels(variants.stage_variants(root, padded));
  CHECK(std::find(l.begin(), l.end(), "inline") != l.end());
  INFO(fmt::format("{}", fmt::join(l, "; ")));
  CHECK(std::find(l.begin(), l.end(), fmt::format("root, vectorize x by {}, unroll y by 4, parallel n", lanes)) != l.end());

  for (const StageInfo& s : stages)
    if (s.output) {
      l = labels(variants.stage_variants(root, s));
      CHECK(std::find(l.begin(), l.end(), "inline") == l.end());
    }
}

TEST_CASE("no stage variant schedules the pipelines as its base already does", "[schedule][variants]") {
  Halide::Target target = Halide::get_host_target();
  ScheduleFile shipped = default_schedule("host");
  // Model A from the shipped default: the recipes its rules of stage kinds
  // apply are not tried again under the stage's own name.
  Graph a = graph("model_a");
  ScheduleVariants variants(a, 8, target, 2);
  std::vector<StageInfo> stages = variants.stages(shipped);
  for (const auto& [stage, recipe] : std::vector<std::pair<std::string, std::string>>{
           {"cnn2.forward", "channel_tiles"}, {"cnn2.grad_input", "scatter_tiles"},
           {"cnn2.grad_weight", "weight_gradient_tiles"}, {"cnn2.grad_bias", "row_sums"},
           {"fc1.forward", "matrix_tiles"}, {"relu1.forward", "inline"}}) {
    std::vector<std::string> l = labels(variants.stage_variants(shipped, stage_named(stages, stage)));
    INFO(stage << ": " << fmt::format("{}", fmt::join(l, "; ")));
    CHECK(std::count(l.begin(), l.end(), recipe) == 0);
    CHECK_FALSE(l.empty());
  }
  // LeNet-5's first layer has 6 channels, which fill no vector: channel_tiles
  // computes position tiles there, so neither is tried again.
  Graph lenet = graph("lenet5");
  ScheduleVariants lenet_variants(lenet, 8, target, 2);
  const std::vector<StageInfo> lenet_stages = lenet_variants.stages(shipped);
  const StageInfo& conv1 = stage_named(lenet_stages, "conv1.forward");
  std::vector<std::string> l = labels(lenet_variants.stage_variants(shipped, conv1));
  INFO(fmt::format("{}", fmt::join(l, "; ")));
  CHECK(std::count_if(l.begin(), l.end(), [](const std::string& s) { return s.find("_tiles") != s.npos; }) == 0);
  CHECK(std::count(l.begin(), l.end(), "plain") == 1);
}

TEST_CASE("pipeline variants: plain for the rest, and Halide's three autoschedulers", "[schedule][variants]") {
  Graph g = graph("model_c");
  ScheduleVariants variants(g, 8, Halide::get_host_target(), 3);
  ScheduleFile base = parse_schedule("target: host\nstages:\n  '*': root\n  cnn1.forward: channel_tiles\n", "s.yaml");
  std::vector<Variant> v = variants.pipeline_variants(base);
  REQUIRE(v.size() == 4);
  CHECK(v[0].file.merged_rule("relu1.forward", "relu.forward").recipe->name == "plain");
  CHECK(v[0].file.merged_rule("cnn1.forward", "conv2d.forward").recipe->name == "channel_tiles");
  REQUIRE(v[1].file.autoscheduler);
  CHECK(v[1].file.autoscheduler->name == "Adams2019");
  CHECK(v[1].file.autoscheduler->parallelism == 3);
  CHECK(v[1].file.autoscheduler->beam_size == 1);
  CHECK(variants.stage_variants(v[1].file, variants.stages(base)[0]).empty());
  for (size_t k = 2; k < 4; ++k) {
    REQUIRE(v[k].file.autoscheduler);
    CHECK(v[k].file.autoscheduler->name == (k == 2 ? "Mullapudi2016" : "Li2018"));
    CHECK(v[k].file.autoscheduler->parallelism == 3);
  }
}

}  // namespace netc

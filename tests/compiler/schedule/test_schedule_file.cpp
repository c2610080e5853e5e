// Schedule files: what parses, and every problem located at FILE:LINE:COLUMN,
// both those the parser sees and those only a pipeline reveals.
#include <catch2/catch.hpp>

#include "front/graph.h"
#include "lower/pipeline.h"
#include "schedule/schedule.h"

namespace netc {
namespace {

std::string parse_error(const std::string& text) {
  try {
    parse_schedule(text, "s.yaml");
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

// Lowers and schedules Model C's training step with `text`; the error, if any.
std::string apply_error(const std::string& text) {
  try {
    Graph g = load_graph(std::string(NETC_SOURCE_DIR) + "/graphs/model_c.yaml");
    Scheduler s(parse_schedule(text, "s.yaml"), Halide::get_host_target());
    LoweredPipeline p = lower_train_step(g, 4, s.variants());
    s.apply(p);
    s.check_every_rule_used();
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("the shipped default schedule parses and selects stages by name, kind and glob", "[schedule]") {
  ScheduleFile f = default_schedule("host");
  CHECK(f.target == "host");
  CHECK(f.merged_rule("cnn2.forward", "conv2d.forward").recipe->name == "channel_tiles");
  CHECK(f.merged_rule("cnn2.grad_weight", "conv2d.grad_weight").recipe->name == "weight_gradient_tiles");
  CHECK(f.merged_rule("update.fc1.weight", "update.param").recipe->name == "plain");
  CHECK(ScheduleFile::selects("update.*", "update.fc1.weight", "update.param"));
  CHECK_FALSE(ScheduleFile::selects("update.*", "fc1.forward", "linear.forward"));
}

TEST_CASE("later rules override earlier ones field by field", "[schedule]") {
  ScheduleFile f = parse_schedule(R"(target: host
stages:
  "*": plain
  conv2d.forward: {lowering: im2col}
  cnn1.forward: {pure: [compute_root, {vectorize: [x, 8]}]}
)",
                                  "s.yaml");
  StageRule r = f.merged_rule("cnn1.forward", "conv2d.forward");
  CHECK(r.recipe->name == "plain");
  CHECK(r.lowering == "im2col");
  REQUIRE(r.pure);
  CHECK(r.pure->size() == 2);
  CHECK((*r.pure)[1].args == std::vector<std::string>{"x", "8"});
}

TEST_CASE("schedule file problems are reported at FILE:LINE:COLUMN", "[schedule][errors]") {
  CHECK(parse_error("target: host\nstages:\n  cnn1.forward: fast\n") ==
        "s.yaml:3:17: unknown recipe 'fast'; expected one of root, inline, plain, channel_tiles, "
        "position_tiles, weight_gradient_tiles, row_sums, scatter_tiles, matrix_tiles, gpu");
  CHECK(parse_error("target: gpu\nstages: {}\n") == "s.yaml:1:9: unknown target 'gpu'; expected one of host, cuda");
  CHECK(parse_error("stages: {}\n") == "s.yaml:1:1: missing `target` (host or cuda)");
  CHECK(parse_error("target: host\nstage: {}\n") ==
        "s.yaml:2:1: unknown key 'stage'; expected one of target, autoscheduler, stages");
  CHECK(parse_error("target: host\nstages:\n  a.forward:\n    pure: [{splitt: [x, xo, xi, 4]}]\n") ==
        "s.yaml:4:12: unknown directive 'splitt'; expected one of compute_root, compute_inline, compute_at, "
        "store_root, store_at, split, tile, fuse, reorder, vectorize, unroll, parallel, serial, reorder_storage, "
        "bound, rfactor, gpu_blocks, gpu_threads, gpu_tile, gpu_single_thread");
  CHECK(parse_error("target: host\nstages:\n  a.forward:\n    pure: [{split: [x, xo, xi]}]\n") ==
        "s.yaml:4:12: 'split' takes [var, new_name, new_name, factor, [tail]]");
  CHECK(parse_error("target: host\nstages:\n  a.forward:\n    pure: [{split: [x, xo, xi, 0]}]\n") ==
        "s.yaml:4:32: a factor must be at least 1, not 0");
  CHECK(parse_error("target: host\nstages:\n  a.forward:\n    pure: [{vectorize: [x, \"8\"]}]\n") ==
        "s.yaml:4:28: a factor must be an integer, not '8'");
  CHECK(parse_error("target: host\nstages:\n  a.forward:\n    update: [compute_root]\n") ==
        "s.yaml:4:14: 'compute_root' applies to the pure definition only");
  CHECK(parse_error("target: host\nstages:\n  a.forward: plain\n  a.forward: root\n") ==
        "s.yaml:4:3: duplicate selector 'a.forward'");
  CHECK(parse_error("target: host\nstages:\n  forward: plain\n").rfind("s.yaml:3:3: 'forward' is not a stage", 0) == 0);
  CHECK(parse_error("target: host\nautoscheduler: {name: Adams2019}\nstages:\n  cnn1.forward: plain\n") ==
        "s.yaml:4:3: with an autoscheduler, stages may only choose their `lowering`");
  CHECK(parse_error("target: host\nautoscheduler: Mullapudi2016\n") == "no error");
  CHECK(parse_error("target: host\nautoscheduler: {name: Li2018, beam_size: 4}\n") ==
        "s.yaml:2:42: beam_size is an option of Adams2019 only");
  CHECK(parse_error("target: host\nstages: [a, b]\n") ==
        "s.yaml:2:9: `stages` must be a map from stage selectors to schedules");
  CHECK(parse_error("target: host\nstages: {a.forward: {lowering: winograd}}\n") ==
        "s.yaml:2:32: unknown lowering 'winograd'; expected one of direct, im2col, scatter");
  CHECK(parse_error("target: [host\n").rfind("s.yaml:", 0) == 0);
}

TEST_CASE("factors and recipe options are held to netc's limits where the file says them", "[schedule][errors]") {
  CHECK(parse_error("target: host\nstages:\n  a.forward:\n    pure: [{unroll: [x, 100000]}]\n") ==
        "s.yaml:4:25: a factor must be at most 64 (netc's limit), not 100000");
  CHECK(parse_error("target: host\nstages:\n  a.forward:\n    pure: [{vectorize: [x, 2147483648]}]\n") ==
        "s.yaml:4:28: a factor must be at most 64 (netc's limit), not 2147483648");
  CHECK(parse_error("target: host\nstages:\n  a.forward:\n    pure: [{split: [x, xo, xi, 4096]}]\n") ==
        "s.yaml:4:32: a factor must be at most 1024 (netc's limit), not 4096");
  CHECK(parse_error("target: host\nstages:\n  a.forward:\n    pure: [{bound: [x, 0, 4096]}]\n") == "no error");
  CHECK(parse_error("target: host\nstages:\n  a.forward:\n    pure: [{bound: [x, 99999999999, 4]}]\n") ==
        "s.yaml:4:24: a bound's minimum must be at most 2147483647 (netc's limit), not 99999999999");
  CHECK(parse_error("target: host\nstages:\n  a.forward: {recipe: {name: channel_tiles, x_tile: 100000}}\n") ==
        "s.yaml:3:53: x_tile must be at most 64 (netc's limit), not 100000");
}

TEST_CASE("recipe options and targets are checked as the file is read", "[schedule][errors]") {
  CHECK(parse_error("target: host\nstages:\n  cnn2.forward: {recipe: {name: channel_tiles, y_tile: 2}}\n") ==
        "s.yaml:3:48: recipe 'channel_tiles' has no option 'y_tile'");
  CHECK(parse_error("target: host\nstages:\n  \"*\": {recipe: {name: plain, x_tile: 2}}\n") ==
        "s.yaml:3:31: recipe 'plain' has no option 'x_tile'");
  CHECK(parse_error("target: host\nstages:\n  \"*\": gpu\n") == "s.yaml:3:8: recipe 'gpu' is for cuda schedules, not host");
  CHECK(parse_error("target: cuda\nstages:\n  conv2d.grad_bias: {recipe: {name: row_sums}}\n") ==
        "s.yaml:3:37: recipe 'row_sums' is for host schedules, not cuda");
  CHECK(parse_error("target: cuda\nstages:\n  \"*\": plain\n") == "no error");
}

TEST_CASE("stages, kinds and variables that do not exist are errors at their line", "[schedule][errors]") {
  CHECK(apply_error("target: host\nstages:\n  \"*\": plain\n  cnn9.forward: root\n") ==
        "s.yaml:4:3: no stage is named 'cnn9.forward' and no stage kind is called so; run `netc bench GRAPH` to "
        "list the stages");
  CHECK(apply_error("target: host\nstages:\n  conv2d.foward: root\n") ==
        "s.yaml:3:3: no stage is named 'conv2d.foward' and no stage kind is called so; run `netc bench GRAPH` "
        "to list the stages");
  // A kind this graph lacks is fine: files serve many graphs.
  CHECK(apply_error("target: host\nstages:\n  \"*\": plain\n  avgpool2d.forward: root\n") == "no error");
  CHECK(apply_error("target: host\nstages:\n  \"*\": plain\n  cnn2.forward:\n    pure: [{vectorize: q}]\n") ==
        "s.yaml:5:12: 'q' is not a loop variable of the pure definition of cnn2.forward; it has c, n, x, y");
  CHECK(apply_error("target: host\nstages:\n  \"*\": plain\n  cnn2.forward:\n    update: [{rfactor: [x, u]}]\n") ==
        "s.yaml:5:14: 'x' is not a reduction variable");
  CHECK(apply_error("target: host\nstages:\n  relu1.forward: {lowering: im2col}\n") ==
        "s.yaml:3:29: relu1.forward (relu.forward) has no im2col lowering; conv2d.forward and conv2d.grad_weight "
        "have");
  CHECK(apply_error("target: host\nstages:\n  \"*\": plain\n  fc1.forward: channel_tiles\n") ==
        "s.yaml:4:16: recipe 'channel_tiles' schedules conv2d.forward and conv2d.grad_input stages, not "
        "fc1.forward (linear.forward)");
  CHECK(apply_error("target: host\nstages:\n  \"*\": plain\n  cnn2.forward: {recipe: {name: channel_tiles, "
                    "x_tile: 9}}\n") == "s.yaml:4:26: x_tile 9 is wider than the 8 positions of a row");
  CHECK(apply_error("target: host\nstages:\n  \"*\": plain\n  cnn2.grad_input: {lowering: scatter, recipe: {name: "
                    "scatter_tiles, kx_taps: 2}}\n") == "s.yaml:4:48: kx_taps 2 does not divide the kernel's 5 taps along x");
  CHECK(apply_error("target: host\nstages:\n  \"*\": plain\n  cnn2.grad_weight: {recipe: {name: "
                    "weight_gradient_tiles, ci_block: 3}}\n") ==
        "s.yaml:4:30: ci_block 3 does not divide the 16 input channels");
  CHECK(apply_error("target: host\nstages:\n  \"*\": plain\n  cnn2.grad_weight: {recipe: {name: "
                    "weight_gradient_tiles, batch_blocks: 3}}\n") ==
        "s.yaml:4:30: batch_blocks 3 does not divide the batch 4");
  CHECK(apply_error("target: host\nstages:\n  \"*\": plain\n  cnn2.grad_weight: {recipe: {name: "
                    "weight_gradient_tiles, x_partials: 3}}\n") ==
        "s.yaml:4:30: x_partials 3 does not divide the 8 positions of a row");
  CHECK(apply_error("target: cuda\nstages: {\"*\": plain}\n") == "s.yaml:1:9: this schedule is for target cuda, not host");
}

TEST_CASE("directives written in a file reach Halide", "[schedule]") {
  CHECK(apply_error(R"(target: host
stages:
  "*": plain
  cnn2.forward:
    recipe: root
    pure: [{split: [x, xo, xi, 2]}, {vectorize: xi}, {parallel: n}]
    update: [{split: [r.z, rzo, rzi, 4]}, {reorder: [x, rzi, y, rzo, c, n]}, {unroll: rzi}, {parallel: n}]
  cnn2.grad_weight:
    update: [{rfactor: [ro.z, u]}]
  update.*:
    recipe: root
    pure: [{vectorize: [d0, 8]}]
)") == "no error");
}

}  // namespace netc

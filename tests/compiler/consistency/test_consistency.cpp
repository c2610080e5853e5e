// One consistency test over op x lowering variant x schedule recipe x target,
// as ggml's test-backend-ops checks its backends against the CPU: each op's
// layer pipeline (forward and adjoint) under every schedule that fits it must
// compute what it computes under the reference schedule (every stage at root,
// serially, lowered directly). On the host every schedule runs in Halide's
// JIT; CUDA pipelines, which need no GPU to build, are compiled and their PTX
// must pass ptxas.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "aot/build.h"
#include "front/loader.h"
#include "front/schedule_specs.h"
#include "ptx.h"
#include "step_check.h"

namespace netc {
namespace {

struct OpCase {
  std::string name;                          // for messages
  std::string layer;                         // as a graph file writes it
  std::vector<std::vector<int64_t>> inputs;  // (c, h, w) or (features)
  int64_t batch;
};

// One row per op at least. Convolutions have 16 channels on both sides, so
// that their register tiles take the tiled path with 8 lanes (AVX2) and 16
// (AVX-512) alike; a first layer (one input channel) takes position tiles,
// and the strided one has no bias; the narrow one's channels (6 -> 20) fill
// no whole vectors, so its input and weight gradients take the recipes'
// position-vector fallbacks. Widths of 20 leave vector tails.
const std::vector<OpCase> kCases = {
    {"conv2d", "{op: conv2d, out_channels: 16, kernel_size: 3, padding: 1}", {{16, 6, 8}}, 2},
    {"conv2d first layer", "{op: conv2d, out_channels: 16, kernel_size: 5, padding: 2}", {{1, 8, 8}}, 2},
    {"conv2d strided",
     "{op: conv2d, out_channels: 16, kernel_size: 3, stride: 2, padding: 1, bias: false}",
     {{16, 9, 9}},
     2},
    {"conv2d narrow", "{op: conv2d, out_channels: 20, kernel_size: 3, padding: 1}", {{6, 6, 10}}, 4},
    {"conv2d valid", "{op: conv2d, out_channels: 16, kernel_size: 5, padding: valid}", {{16, 8, 8}}, 2},
    // Its windows leave the last input row and column uncovered (gradient 0).
    {"conv2d strided past the edge", "{op: conv2d, out_channels: 16, kernel_size: 3, stride: 2, padding: 0}",
     {{16, 10, 10}},
     2},
    {"maxpool2d", "{op: maxpool2d, kernel_size: 2}", {{4, 8, 8}}, 2},
    {"avgpool2d", "{op: avgpool2d, kernel_size: 3, stride: 2, padding: 1}", {{4, 9, 9}}, 2},
    {"relu", "{op: relu}", {{3, 5, 20}}, 2},
    {"leaky_relu", "{op: leaky_relu, negative_slope: 0.1}", {{3, 5, 20}}, 2},
    {"tanh", "{op: tanh}", {{3, 5, 20}}, 2},
    {"sigmoid", "{op: sigmoid}", {{40}}, 2},
    {"flatten", "{op: flatten}", {{4, 4, 4}}, 2},
    {"linear", "{op: linear, out_features: 16}", {{36}}, 4},
    // Weights larger than a core's cache (3.9 MB): matrix_tiles cuts the
    // forward pass's reduction into chunks, and the gradients' tiles of
    // inputs are outermost; 40 outputs leave a vector tail.
    {"linear wide", "{op: linear, out_features: 40}", {{24576}}, 6},
    {"add", "{op: add}", {{3, 5, 20}, {3, 5, 20}}, 2},
    {"concat", "{op: concat}", {{2, 5, 20}, {3, 5, 20}}, 2},
};

std::vector<Shape> shapes_of(const OpCase& c) {
  std::vector<Shape> shapes;
  for (const std::vector<int64_t>& dims : c.inputs) shapes.push_back(Shape::of_dims(dims));
  return shapes;
}

Layer layer_of(const OpCase& c) {
  std::vector<InputInfo> infos;
  for (const Shape& s : shapes_of(c)) infos.push_back({"x", s, s.str()});
  return parse_single_layer(c.layer, infos);
}

// The pipeline of `c` lowered with the variants `file` chooses and scheduled by it.
LoweredPipeline scheduled(const OpCase& c, const ScheduleFile& file, const Halide::Target& target) {
  Scheduler scheduler(file, target);
  LoweredPipeline p = lower_layer(layer_of(c), shapes_of(c), c.batch, Halide::Float(32), scheduler.variants());
  scheduler.apply(p);
  return p;
}

StageRule rule(const std::string& selector, const std::string& recipe, const std::string& lowering = "") {
  StageRule r;
  r.selector = selector;
  if (!recipe.empty()) r.recipe = Recipe{recipe, {}, {}};
  if (!lowering.empty()) r.lowering = lowering;
  return r;
}

// What every stage gets unless a rule says otherwise: plain on the host, a
// kernel of its own on a GPU.
std::string baseline_recipe(const Halide::Target& target) { return target.has_gpu_feature() ? "gpu" : "plain"; }

std::string target_name(const Halide::Target& target) { return target.has_gpu_feature() ? "cuda" : "host"; }

// A schedule: `recipe` on the stages of the kinds `kinds`, the baseline
// elsewhere, and the lowering `lowering` on the kinds in `lowered`.
ScheduleFile schedule_with(const Halide::Target& target, const std::string& lowering,
                           const std::vector<std::string>& lowered, const std::vector<std::string>& kinds = {},
                           const std::string& recipe = "") {
  ScheduleFile file;
  file.path = "consistency";
  file.target = target_name(target);
  file.rules.push_back(rule("*", baseline_recipe(target)));
  for (const std::string& kind : lowered) file.rules.push_back(rule(kind, "", lowering));
  for (const std::string& kind : kinds) file.rules.push_back(rule(kind, recipe));
  return file;
}

// The stage kinds of the op's own stages (not the output copies or the
// inputs a stage name refers to), in pipeline order.
std::vector<std::string> op_kinds(const LoweredPipeline& p, const std::string& op) {
  std::vector<std::string> kinds;
  for (const Stage& s : p.stages.stages())
    if (!s.reference && s.kind.rfind(op + ".", 0) == 0 &&
        std::find(kinds.begin(), kinds.end(), s.kind) == kinds.end())
      kinds.push_back(s.kind);
  return kinds;
}

bool accepted(const OpCase& c, const ScheduleFile& file, const Halide::Target& target) {
  try {
    scheduled(c, file, target);
    return true;
  } catch (const InputError&) {
    return false;
  }
}

// The recipes to try on a stage kind: those the recipe table
// (front/schedule_specs.h) says fit the kind and the target, and that the
// Scheduler accepts there (`inline` fits any kind but no reduction).
std::vector<std::string> recipes_for(const OpCase& c, const std::string& lowering,
                                     const std::vector<std::string>& lowered, const std::string& kind,
                                     const Halide::Target& target) {
  std::vector<std::string> candidates;
  for (const RecipeSpec& r : recipe_specs())
    if (r.for_target(target_name(target)) && r.fits_kind(kind)) candidates.push_back(r.name);
  std::vector<std::string> fitting;
  for (const std::string& recipe : candidates)
    if (accepted(c, schedule_with(target, lowering, lowered, {kind}, recipe), target)) fitting.push_back(recipe);
  return fitting;
}

// The lowering variants beyond "direct" (the table of front/schedule_specs.h),
// each with the stage kinds of `c` that offer it.
std::map<std::string, std::vector<std::string>> other_lowerings(const OpCase& c, const Halide::Target& target) {
  std::map<std::string, std::vector<std::string>> offered;
  const std::vector<std::string> kinds = op_kinds(scheduled(c, schedule_with(target, "", {}), target), layer_of(c).op);
  for (const std::string& kind : kinds)
    for (const LoweringVariant& variant : lowering_variants_of(kind)) offered[variant.name].push_back(kind);
  return offered;
}

struct Trial {
  std::string label;  // lowering, and the kind and recipe it tries
  ScheduleFile file;
};

// The shipped default schedule, and for each lowering the baseline alone and
// each other recipe on every stage kind of the op where it fits, all at once:
// one compile per recipe rather than per kind and recipe, which would take
// minutes. `root` is left out: the reference puts it on every kind.
std::vector<Trial> trials(const OpCase& c, const Halide::Target& target) {
  std::vector<Trial> out = {{"shipped default", default_schedule(target_name(target))}};
  if (!target.has_gpu_feature()) {
    // Recipe options that change the loop nest, where the op takes them: both
    // in one compile, else the first that fits alone.
    for (const std::map<std::string, int64_t>& options : std::vector<std::map<std::string, int64_t>>{
             {{"ci_block", 2}, {"x_partials", 2}}, {{"ci_block", 2}}, {{"x_partials", 2}}}) {
      ScheduleFile file = default_schedule("host");
      StageRule tiles = rule("conv2d.grad_weight", "weight_gradient_tiles");
      tiles.recipe->options = options;
      file.rules.push_back(tiles);
      std::string label = "shipped default, weight_gradient_tiles";
      for (const auto& [name, value] : options) label += fmt::format(" {}={}", name, value);
      if (!accepted(c, file, target)) continue;
      out.push_back({label, file});
      break;
    }
  }
  std::map<std::string, std::vector<std::string>> lowerings = other_lowerings(c, target);
  lowerings["direct"] = {};
  for (const auto& [lowering, lowered] : lowerings) {
    out.push_back({lowering + ", every stage " + baseline_recipe(target), schedule_with(target, lowering, lowered)});
    if (!lowered.empty()) {
      ScheduleFile file = default_schedule(target_name(target));
      for (const std::string& kind : lowered) file.rules.push_back(rule(kind, "", lowering));
      if (accepted(c, file, target)) out.push_back({"shipped default, " + lowering, file});
    }
    std::map<std::string, std::vector<std::string>> kinds_of_recipe;
    const LoweredPipeline p = scheduled(c, schedule_with(target, lowering, lowered), target);
    for (const std::string& kind : op_kinds(p, layer_of(c).op))
      for (const std::string& recipe : recipes_for(c, lowering, lowered, kind, target))
        if (recipe != baseline_recipe(target) && recipe != "root") kinds_of_recipe[recipe].push_back(kind);
    for (const auto& [recipe, kinds] : kinds_of_recipe) {
      std::string label = lowering + ", " + recipe + " on";
      for (const std::string& kind : kinds) label += " " + kind;
      out.push_back({label, schedule_with(target, lowering, lowered, kinds, recipe)});
    }
  }
  return out;
}

// The extents an input buffer of the layer pipeline is declared with.
std::vector<int> constant_extents(const Halide::Internal::Parameter& p) {
  std::vector<int> extents;
  for (int d = 0; d < p.dimensions(); ++d)
    extents.push_back(int(*Halide::Internal::as_const_int(p.extent_constraint(d))));
  return extents;
}

// Seeded values in [-1, 1] for every input of `p`: no ties for max pooling,
// no exact zeros at relu's kink.
std::vector<Halide::Buffer<float>> random_inputs(const LoweredPipeline& p) {
  std::mt19937 gen(11);
  std::uniform_real_distribution<float> value(-1, 1);
  std::vector<Halide::Buffer<float>> inputs;
  for (const Halide::ImageParam& param : p.buffers) {
    Halide::Buffer<float> b(constant_extents(param.parameter()));
    b.for_each_value([&](float& v) { v = value(gen); });
    inputs.push_back(b);
  }
  return inputs;
}

// The stages that copy out `p`'s outputs, in call order.
std::vector<const Stage*> output_stages(const LoweredPipeline& p) {
  std::vector<const Stage*> stages;
  for (const Halide::Func& f : p.outputs)
    for (const Stage& s : p.stages.stages())
      if (s.func.name() == f.name()) stages.push_back(&s);
  return stages;
}

// Runs `p` in Halide's JIT for `target`: its outputs by stage name
// ("output.y", the input gradients, the parameter gradients).
StepOutputs run(LoweredPipeline& p, const std::vector<Halide::Buffer<float>>& inputs, const Halide::Target& target) {
  Halide::ParamMap params;
  for (size_t k = 0; k < inputs.size(); ++k) params.set(p.buffers[k], inputs[k]);
  const std::vector<const Stage*> stages = output_stages(p);
  std::vector<Halide::Buffer<>> outs;
  for (const Stage* s : stages)
    outs.push_back(Halide::Buffer<float>(std::vector<int>(s->extents.begin(), s->extents.end())));
  p.pipeline.realize(Halide::Realization(outs), target, params);
  StepOutputs named;
  for (size_t k = 0; k < outs.size(); ++k) {
    Halide::Buffer<float> b = outs[k];
    named[stages[k]->name] = std::vector<float>(b.data(), b.data() + b.number_of_elements());
  }
  return named;
}

// The PTX of `p` compiled for `target` into `dir`, one module per pipeline.
std::vector<std::string> ptx_of(LoweredPipeline& p, const Halide::Target& target, const test::ScratchDir& dir) {
  p.pipeline.compile_to_object(dir / "layer.o", p.arguments, p.function_name, target);
  return test::ptx_modules(dir / "layer.o");
}

}  // namespace

TEST_CASE("consistency: every op netc knows has a case", "[consistency]") {
  std::set<std::string> covered;
  for (const OpCase& c : kCases) covered.insert(layer_of(c).op);
  for (const std::string& op : op_names()) {
    INFO("add a case for " << op << " to kCases");
    CHECK(covered.count(op));
  }
}

TEST_CASE("consistency: convolutions get their register-tiling recipes", "[consistency]") {
  const Halide::Target host = Halide::get_host_target();
  const OpCase& conv = kCases.front();
  auto fits = [&](const std::string& kind, const std::string& recipe) {
    std::vector<std::string> r = recipes_for(conv, "", {}, kind, host);
    return std::find(r.begin(), r.end(), recipe) != r.end();
  };
  CHECK(fits("conv2d.forward", "channel_tiles"));
  CHECK(fits("conv2d.forward", "position_tiles"));
  CHECK(fits("conv2d.grad_input", "channel_tiles"));
  CHECK(fits("conv2d.grad_input", "position_tiles"));
  CHECK(fits("conv2d.grad_weight", "weight_gradient_tiles"));
  CHECK(fits("conv2d.grad_bias", "row_sums"));
  CHECK_FALSE(fits("conv2d.forward", "weight_gradient_tiles"));
  CHECK(other_lowerings(conv, host).at("im2col") == std::vector<std::string>{"conv2d.forward", "conv2d.grad_weight"});
  // The scattered input gradient has its own recipe, which fits no other lowering.
  CHECK(other_lowerings(conv, host).at("scatter") == std::vector<std::string>{"conv2d.grad_input"});
  CHECK_FALSE(fits("conv2d.grad_input", "scatter_tiles"));
  const std::vector<std::string> scattered =
      recipes_for(conv, "scatter", {"conv2d.grad_input"}, "conv2d.grad_input", host);
  CHECK(std::find(scattered.begin(), scattered.end(), "scatter_tiles") != scattered.end());
  CHECK(std::find(scattered.begin(), scattered.end(), "channel_tiles") == scattered.end());
}

// Every op under every fitting recipe, scheduled and run for `target`,
// against the reference schedule run for this CPU.
void check_host_schedules(const Halide::Target& target, const std::string& label) {
  const Halide::Target host = Halide::get_host_target();
  for (const OpCase& c : kCases) {
    LoweredPipeline reference = scheduled(c, reference_schedule("host"), host);
    const std::vector<Halide::Buffer<float>> inputs = random_inputs(reference);
    const StepOutputs want = run(reference, inputs, host);
    for (const Trial& t : trials(c, target)) {
      INFO(c.name << " | " << t.label << " | " << label);
      try {
        LoweredPipeline p = scheduled(c, t.file, target);
        StepComparison cmp = compare_step_outputs(run(p, inputs, target), want);
        INFO("worst output " << cmp.worst << ": relative error " << cmp.max_relative_error << " " << cmp.problem);
        CHECK(cmp.problem.empty());
        CHECK(cmp.max_relative_error < 1e-5);
      } catch (const std::exception& e) {
        FAIL_CHECK(e.what());
      }
    }
  }
}

TEST_CASE("consistency: host: every op under every fitting recipe matches the reference schedule",
          "[consistency][host]") {
  check_host_schedules(Halide::get_host_target(), "host");
}

// The AVX2 code an AVX2 machine gets (NETC_HOST_TARGET builds it anywhere):
// 8-lane vectors and 16 registers size the recipes' tiles differently.
TEST_CASE("consistency: host AVX2: every op under every fitting recipe matches the reference schedule",
          "[consistency][avx2]") {
  if (!Halide::get_host_target().has_feature(Halide::Target::AVX2)) {
    WARN("skipped: this CPU has no AVX2");
    return;
  }
  check_host_schedules(Halide::Target("x86-64-linux-avx-avx2-f16c-fma-sse41"), "host AVX2");
}

// The cases `c` with index % parts == part, compiled for CUDA: their PTX must
// pass ptxas. The cases are split over several tests because compiling them
// all takes about three minutes here and more than ten under the sanitizers,
// past one test's timeout; every case lands in exactly one part.
void check_cuda_ptx(size_t part, size_t parts) {
  if (access(test::ptxas().c_str(), X_OK) != 0) {
    WARN("skipped: no ptxas at " << test::ptxas() << " (NETC_PTXAS names another)");
    return;
  }
  const Halide::Target cuda = target_for("cuda");
  test::ScratchDir dir("netc-consistency-");
  for (size_t k = part; k < kCases.size(); k += parts)
    for (const Trial& t : trials(kCases[k], cuda)) {
      INFO(kCases[k].name << " | " << t.label << " | cuda");
      try {
        LoweredPipeline p = scheduled(kCases[k], t.file, cuda);
        std::vector<std::string> modules = ptx_of(p, cuda, dir);
        CHECK(modules.size() == 1);
        for (const std::string& module : modules) {
          test::PtxasResult r = test::run_ptxas(module, "sm_80", dir.path());
          INFO(r.output);
          CHECK(r.status == 0);
        }
      } catch (const std::exception& e) {
        FAIL_CHECK(e.what());
      }
    }
}

TEST_CASE("consistency: cuda, part 1 of 3: every op under every fitting recipe compiles and ptxas accepts it",
          "[consistency][cuda]") {
  check_cuda_ptx(0, 3);
}

TEST_CASE("consistency: cuda, part 2 of 3: every op under every fitting recipe compiles and ptxas accepts it",
          "[consistency][cuda]") {
  check_cuda_ptx(1, 3);
}

TEST_CASE("consistency: cuda, part 3 of 3: every op under every fitting recipe compiles and ptxas accepts it",
          "[consistency][cuda]") {
  check_cuda_ptx(2, 3);
}

}  // namespace netc

// Which stages a host schedule stores channel-innermost (schedule/layouts.h):
// a channel-tiled convolution's output and the pointwise and pooling stages
// on it and on its gradient; nothing where no convolution tiles channels.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "lower/pipeline.h"
#include "schedule/layouts.h"
#include "schedule/schedule.h"

namespace netc {
namespace {

std::set<std::string> innermost_stages(const std::string& graph_name, const ScheduleFile& file, const Machine& m) {
  Graph g = load_graph(std::string(NETC_SOURCE_DIR) + "/graphs/" + graph_name + ".yaml");
  Scheduler scheduler(file, Halide::get_host_target());
  LoweredPipeline train = lower_train_step(g, 8, scheduler.variants());
  std::set<std::string> names = channel_innermost_stages(
      train.stages,
      [&](const Stage& s) {
        const StageRule rule = file.merged_rule(s.name, s.kind);
        return rule.recipe ? rule.recipe->name : std::string();
      },
      m);
  std::set<std::string> stages;  // by stage name, not the Halide name
  for (const Stage& s : train.stages.stages())
    if (!s.reference && names.count(s.func.name())) stages.insert(s.name);
  return stages;
}

const Machine kAvx512{16, 24, 32, 2 << 20}, kAvx2{8, 12, 16, 2 << 20};

}  // namespace

TEST_CASE("layouts: Model A keeps its convolutions' tensors and their gradients channel-innermost",
          "[schedule][layouts]") {
  // The first convolution reads one channel and still tiles its 16 output
  // channels; the second's scattered input gradient is copied out of
  // channel-innermost sums; the stages on them and on their gradients follow.
  const std::set<std::string> expected = {"cnn1.forward",     "maxpool1.argmax",  "maxpool1.forward",
                                          "relu1.grad_input", "cnn2.forward",     "cnn2.grad_input",
                                          "maxpool2.argmax",  "maxpool2.forward", "relu2.grad_input"};
  for (const Machine& m : {kAvx512, kAvx2}) {
    INFO(m.vector_width << " lanes");
    CHECK(innermost_stages("model_a", default_schedule("host"), m) == expected);
  }
}

TEST_CASE("layouts: LeNet-5 keeps only its second convolution's tensor channel-innermost", "[schedule][layouts]") {
  // Its first convolution's 6 output channels fill no vector: position tiles,
  // x innermost. The second (6 -> 16) tiles its channels: one AVX-512 vector,
  // two AVX2 ones; its tanh, pooling and tanh gradient follow.
  const std::set<std::string> expected = {"conv2.forward", "pool2.forward", "tanh2.forward", "tanh2.grad_input"};
  CHECK(innermost_stages("lenet5", default_schedule("host"), kAvx512) == expected);
  CHECK(innermost_stages("lenet5", default_schedule("host"), kAvx2) == expected);
}

TEST_CASE("layouts: nothing is channel-innermost without channel tiles or scattered gradients", "[schedule][layouts]") {
  // The narrow network's 4 and 8 channels fill no 16-lane vector.
  CHECK(innermost_stages("narrow", default_schedule("host"), kAvx512).empty());
  // The reference schedule (root) tiles nothing.
  CHECK(innermost_stages("model_a", reference_schedule("host"), kAvx512).empty());
  // Forward passes in plain: only the scattered input gradient and the
  // gradient that reads it (through maxpool1's, computed inline).
  ScheduleFile plain = default_schedule("host");
  plain.rules.push_back(parse_schedule("target: host\nstages:\n  conv2d.forward: plain\n", "p.yaml").rules[0]);
  CHECK(innermost_stages("model_a", plain, kAvx512) == std::set<std::string>{"cnn2.grad_input", "relu1.grad_input"});
  // And the input gradient gathered in plain too: nothing.
  const std::string gathered = "target: host\nstages:\n  conv2d.grad_input: {lowering: direct, recipe: plain}\n";
  plain.rules.push_back(parse_schedule(gathered, "p.yaml").rules[0]);
  CHECK(innermost_stages("model_a", plain, kAvx512).empty());
}

}  // namespace netc

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

const Machine kAvx512{16, 24}, kAvx2{8, 12};

}  // namespace

TEST_CASE("layouts: Model A keeps its second convolution's tensor and its gradient channel-innermost",
          "[schedule][layouts]") {
  const std::set<std::string> expected = {"cnn2.forward", "maxpool2.argmax", "maxpool2.forward", "relu2.grad_input"};
  for (const Machine& m : {kAvx512, kAvx2}) {
    INFO(m.vector_width << " lanes");
    // The first convolution reads one channel: position tiles, x innermost,
    // and so for everything on its output (maxpool1, relu1's gradient).
    CHECK(innermost_stages("model_a", default_schedule("host"), m) == expected);
  }
}

TEST_CASE("layouts: nothing is channel-innermost without channel tiles", "[schedule][layouts]") {
  // LeNet-5's convolutions read 1 and 6 channels: position tiles.
  CHECK(innermost_stages("lenet5", default_schedule("host"), kAvx512).empty());
  CHECK(innermost_stages("lenet5", default_schedule("host"), kAvx2).empty());
  // The reference schedule (root) and a convolution in plain tile nothing.
  CHECK(innermost_stages("model_a", reference_schedule("host"), kAvx512).empty());
  ScheduleFile plain_convolutions = default_schedule("host");
  plain_convolutions.rules.push_back(parse_schedule("target: host\nstages:\n  conv2d.forward: plain\n", "p.yaml").rules[0]);
  CHECK(innermost_stages("model_a", plain_convolutions, kAvx512).empty());
}

}  // namespace netc

// No schedule may change results: every shipped schedule runs a training
// step and an inference batch on random data (runtime/step_check.h), compiled
// exactly as `netc train` compiles them, and must agree with the reference
// schedule (schedules/cpu/root.yaml: everything at root, serial) to a relative
// error of 1e-5 in every output.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "aot/model_cache.h"
#include "step_check.h"

namespace netc {
namespace {

const std::string kSchedules = std::string(NETC_SOURCE_DIR) + "/schedules/cpu/";
constexpr int64_t kBatch = 16;

StepOutputs run_step(const Graph& graph, const std::string& schedule) {
  BuildOptions o;
  o.batch = kBatch;
  o.schedule_file = schedule;
  CompiledModel model(cached_model(graph, o));
  model.set_threads(2);
  return run_check_step(model);
}

std::vector<std::string> shipped_schedules() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(kSchedules))
    if (entry.path().extension() == ".yaml" && entry.path().filename() != "root.yaml")
      files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST_CASE("every shipped CPU schedule computes what the reference schedule computes", "[schedule][equivalence]") {
  std::vector<std::string> schedules = shipped_schedules();
  REQUIRE(schedules.size() >= 3);  // default, im2col, adams2019 at least
  // Model A has every op of the tutorial; residual_mix has the others
  // (add, concat, tanh, sigmoid, leaky_relu, strided convolution).
  for (const char* name : {"model_a", "residual_mix"}) {
    Graph graph = load_graph(std::string(NETC_SOURCE_DIR) + "/graphs/" + name + ".yaml");
    StepOutputs reference = run_step(graph, kSchedules + "root.yaml");
    for (const std::string& schedule : schedules) {
      DYNAMIC_SECTION(name << " with " << std::filesystem::path(schedule).filename().string()) {
        StepComparison c = compare_step_outputs(run_step(graph, schedule), reference);
        INFO("largest relative error in " << c.worst);
        CHECK(c.problem.empty());
        CHECK(c.max_relative_error <= 1e-5);
      }
    }
  }
}

TEST_CASE("the default schedule for an AVX2 target computes what the reference schedule computes",
          "[schedule][equivalence]") {
  // The recipes size their tiles and choose their layouts by the target's
  // vectors (8 floats here); an AVX-512 machine runs this code too.
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return;
  Graph graph = load_graph(std::string(NETC_SOURCE_DIR) + "/graphs/model_a.yaml");
  StepOutputs reference = run_step(graph, kSchedules + "root.yaml");
  setenv("NETC_HOST_TARGET", "x86-64-linux-avx-avx2-f16c-fma-sse41", 1);
  StepOutputs avx2 = run_step(graph, kSchedules + "default.yaml");
  unsetenv("NETC_HOST_TARGET");
  StepComparison c = compare_step_outputs(avx2, reference);
  INFO("largest relative error in " << c.worst);
  CHECK(c.problem.empty());
  CHECK(c.max_relative_error <= 1e-5);
}

}  // namespace netc

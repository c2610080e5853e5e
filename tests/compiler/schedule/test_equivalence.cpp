// No schedule may change results: every shipped schedule runs a training
// step and an inference batch on random data, compiled exactly as `netc train`
// compiles them, and must agree with the reference schedule (schedules/cpu/
// root.yaml: everything at root, serial) to a relative error of 1e-5.
#include <catch2/catch.hpp>

#include <filesystem>
#include <random>

#include "aot/model_cache.h"
#include "compiled_model.h"
#include "parameters.h"
#include "temp_dir.h"

namespace netc {
namespace {

const std::string kSchedules = std::string(NETC_SOURCE_DIR) + "/schedules/cpu/";
constexpr int64_t kBatch = 16;

// Everything one training step and one inference call produce.
struct StepResult {
  float loss = 0;
  std::vector<std::vector<float>> tensors;  // new parameters, momenta, logits, losses
};

StepResult run_step(const Graph& graph, const std::string& schedule) {
  BuildOptions o;
  o.batch = kBatch;
  o.schedule_file = schedule;
  test::TempDir dir;
  compile_model(graph, o, dir / "model");
  CompiledModel model(dir / "model");
  model.set_threads(2);
  const Manifest& m = model.manifest();

  std::mt19937 gen(42);
  std::uniform_real_distribution<float> pixel(0, 1);
  AlignedVector<float> images(size_t(kBatch * m.image_size()));
  for (float& v : images) v = pixel(gen);
  AlignedVector<int32_t> labels(kBatch);  // compiled pipelines want aligned buffers
  for (int32_t& l : labels) l = int32_t(gen() % uint32_t(m.classes));

  Parameters params = Parameters::initialize(m.params, 7), momenta = Parameters::initialize(m.params, 8);
  Parameters new_params = Parameters::zeros(m.params), new_momenta = Parameters::zeros(m.params);
  SgdSettings sgd{0.05f, 0.9f, 1e-3f, true};  // every term of the update
  StepResult r;
  r.loss = model.train_step(images.data(), labels.data(), sgd, params.data(), momenta.data(),
                            new_params.mutable_data(), new_momenta.mutable_data());
  for (size_t k = 0; k < params.count(); ++k) {
    r.tensors.emplace_back(new_params[k].begin(), new_params[k].end());
    r.tensors.emplace_back(new_momenta[k].begin(), new_momenta[k].end());
  }
  AlignedVector<float> logits(size_t(kBatch * m.classes)), losses(kBatch);
  model.infer(images.data(), labels.data(), params.data(), logits.data(), losses.data());
  r.tensors.emplace_back(logits.begin(), logits.end());
  r.tensors.emplace_back(losses.begin(), losses.end());
  return r;
}

// max |a - b| / (max |b| + 1e-6)
double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(double(a[i]) - double(b[i])));
    scale = std::max(scale, std::abs(double(b[i])));
  }
  return diff / (scale + 1e-6);
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
    StepResult reference = run_step(graph, kSchedules + "root.yaml");
    for (const std::string& schedule : schedules) {
      DYNAMIC_SECTION(name << " with " << std::filesystem::path(schedule).filename().string()) {
        StepResult r = run_step(graph, schedule);
        CHECK(std::abs(r.loss - reference.loss) <= 1e-5 * std::abs(reference.loss));
        REQUIRE(r.tensors.size() == reference.tensors.size());
        for (size_t k = 0; k < r.tensors.size(); ++k) {
          INFO("output tensor " << k);
          CHECK(relative_error(r.tensors[k], reference.tensors[k]) <= 1e-5);
        }
      }
    }
  }
}

}  // namespace netc

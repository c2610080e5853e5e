// netc onnx-test DIR...: ONNX's backend node tests (a folder with model.onnx
// and test_data_set_*/input_*.pb, output_*.pb) through `netc import` and
// netc's compiled forward pass, as `netc eval` runs it. One JSON line per
// test; exit 1 if any fails.
#include <cmath>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "aligned.h"
#include "atomic_file.h"
#include "commands.h"
#include "front/onnx/onnx.h"
#include "model_session.h"

namespace netc {
namespace {

namespace fs = std::filesystem;

// ONNX's own tolerance for node tests (numpy's assert_allclose).
constexpr double kRelativeTolerance = 1e-3;
constexpr double kAbsoluteTolerance = 1e-7;

struct OnnxTestFlags {
  std::vector<std::string> dirs;
  int threads = 0;
};

struct TestResult {
  std::string status = "pass", reason;
  double max_abs_err = -1;  // < 0: not compared
};

OnnxTensor read_tensor_file(const fs::path& path) {
  return read_onnx_tensor(read_file(path.string(), kMaxOnnxTensorBytes, "ONNX tensor"), path.string());
}

// input_0.pb, input_1.pb, ... as many as `count`.
std::vector<OnnxTensor> read_inputs(const fs::path& data_set, size_t count) {
  std::vector<OnnxTensor> inputs;
  for (size_t k = 0; k < count; ++k) inputs.push_back(read_tensor_file(data_set / fmt::format("input_{}.pb", k)));
  return inputs;
}

// Runs one data set; returns its largest absolute error, or throws
// std::runtime_error naming the first value beyond the tolerance.
double run_data_set(const std::string& model_bytes, const fs::path& model_path, const fs::path& data_set,
                    size_t graph_inputs, const OnnxTestFlags& f) {
  std::vector<OnnxTensor> inputs = read_inputs(data_set, graph_inputs);
  const OnnxTensor expected = read_tensor_file(data_set / "output_0.pb");
  const std::vector<OnnxTensor> later(inputs.begin() + 1, inputs.end());
  ImportedModel imported = import_onnx(model_bytes, model_path.string(), "onnx_test", later);
  Graph graph = parse_graph(imported.graph_yaml, model_path.string() + " (imported)");
  const OnnxTensor& data = inputs[0];
  if (data.is_int || data.dims.empty() || data.dims[0] < 1 || data.dims[0] > kMaxBatchSize)
    throw std::runtime_error("input_0.pb is not a float32 batch netc can run");
  const int64_t batch = data.dims[0];
  if (data.size() != batch * graph.input.size())
    throw std::runtime_error(fmt::format("input_0.pb holds {} values, not {} images of {}", data.size(), batch,
                                         graph.input.str()));
  if (expected.is_int || expected.size() != batch * graph.num_classes())
    throw std::runtime_error(fmt::format("output_0.pb holds {} values; netc's output has {} x {}", expected.size(),
                                         batch, graph.num_classes()));
  PipelineOptions pipelines;
  pipelines.batch_size = batch;
  pipelines.threads = f.threads;
  std::unique_ptr<CompiledModel> model = load_pipelines(graph, pipelines);
  std::vector<AlignedVector<float>> params;
  std::vector<const float*> param_data;
  for (const ParameterSpec& p : model->manifest().params) {
    const OnnxTensor& t = imported.weights.at(p.name);
    params.emplace_back(t.floats.begin(), t.floats.end());
  }
  for (const auto& p : params) param_data.push_back(p.data());
  AlignedVector<float> images(data.floats.begin(), data.floats.end());
  AlignedVector<float> logits(static_cast<size_t>(expected.size())), losses(static_cast<size_t>(batch));
  AlignedVector<int32_t> labels(static_cast<size_t>(batch), 0);
  model->infer(images.data(), labels.data(), param_data, logits.data(), losses.data());
  double max_err = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    const double e = expected.floats[i], err = std::fabs(double(logits[i]) - e);
    if (!(err <= kAbsoluteTolerance + kRelativeTolerance * std::fabs(e)))
      throw std::runtime_error(fmt::format("{}: value {} is {:.9g}, expected {:.9g}", data_set.filename().string(), i,
                                           logits[i], e));
    max_err = std::max(max_err, err);
  }
  return max_err;
}

TestResult run_test(const fs::path& dir, const OnnxTestFlags& f) {
  TestResult r;
  try {
    const fs::path model_path = dir / "model.onnx";
    const std::string bytes = read_file(model_path.string(), kMaxOnnxModelBytes, "ONNX model");
    const size_t graph_inputs = onnx_graph_inputs(bytes, model_path.string()).size();
    std::vector<fs::path> data_sets;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) data_sets.push_back(e.path());
    std::sort(data_sets.begin(), data_sets.end());
    if (data_sets.empty()) throw std::runtime_error("no test_data_set_* folder");
    r.max_abs_err = 0;
    for (const fs::path& d : data_sets)
      r.max_abs_err = std::max(r.max_abs_err, run_data_set(bytes, model_path, d, graph_inputs, f));
  } catch (const OnnxUnsupported& e) {
    r = {"unsupported", e.what(), -1};
  } catch (const std::exception& e) {
    r.status = "fail";
    r.reason = e.what();
  }
  return r;
}

// Each DIR is a test (it holds model.onnx) or a folder of tests.
std::vector<fs::path> test_folders(const std::vector<std::string>& dirs) {
  std::vector<fs::path> tests;
  for (const std::string& d : dirs) {
    if (!fs::is_directory(d)) throw InputError(fmt::format("onnx-test: {} is not a folder", d));
    if (fs::exists(fs::path(d) / "model.onnx")) {
      tests.push_back(d);
      continue;
    }
    std::vector<fs::path> inside;
    for (const auto& e : fs::directory_iterator(d))
      if (e.is_directory() && fs::exists(e.path() / "model.onnx")) inside.push_back(e.path());
    if (inside.empty()) throw InputError(fmt::format("onnx-test: {} holds no model.onnx, nor folders with one", d));
    std::sort(inside.begin(), inside.end());
    tests.insert(tests.end(), inside.begin(), inside.end());
  }
  return tests;
}

void run_onnx_test(const OnnxTestFlags& f) {
  int passed = 0, unsupported = 0, failed = 0;
  for (const fs::path& dir : test_folders(f.dirs)) {
    TestResult r = run_test(dir, f);
    nlohmann::ordered_json line{{"name", dir.filename().string()}, {"status", r.status}, {"reason", r.reason}};
    line["max_abs_err"] = r.max_abs_err >= 0 ? nlohmann::ordered_json(r.max_abs_err) : nlohmann::ordered_json();
    std::printf("%s\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    std::fflush(stdout);
    (r.status == "pass" ? passed : r.status == "fail" ? failed : unsupported)++;
  }
  std::fprintf(stderr, "onnx-test: %d passed, %d unsupported, %d failed\n", passed, unsupported, failed);
  if (failed) throw std::runtime_error(fmt::format("onnx-test: {} test(s) failed", failed));
}

}  // namespace

void add_onnx_test_command(CLI::App& app) {
  auto f = std::make_shared<OnnxTestFlags>();
  CLI::App* cmd = app.add_subcommand(
      "onnx-test", "Run ONNX backend node tests (model.onnx + test_data_set_*) through import and netc's forward pass");
  cmd->add_option("DIR", f->dirs, "a test folder, or a folder of test folders")->required();
  cmd->add_option("--threads", f->threads, "CPU threads (default: every core)")->check(CLI::Range(1, 1024));
  cmd->callback([f] { run_onnx_test(*f); });
}

}  // namespace netc

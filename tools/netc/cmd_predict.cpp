// netc predict GRAPH --weights FILE IMAGE...: the class of each image (PNG
// or PGM, any size) and its top probabilities, from the compiled inference
// pipeline as netc eval runs it on the CPU.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "image.h"
#include "model_session.h"
#include "parameters.h"

namespace netc {
namespace {

struct PredictFlags {
  std::string graph, weights;
  std::vector<std::string> images;
  bool json = false, invert = false;
  int top = 3;
  PipelineOptions pipelines;
};

// Each image as the graph's input (C x H x W, pixel / maxval), read and
// checked before anything is compiled.
std::vector<std::vector<float>> read_inputs(const Graph& graph, const PredictFlags& f) {
  std::vector<std::vector<float>> inputs;
  for (const std::string& path : f.images) {
    std::vector<float> input = image_to_input(read_image(path), graph.input.c, graph.input.h, graph.input.w);
    if (f.invert)
      for (float& v : input) v = 1.f - v;
    inputs.push_back(std::move(input));
  }
  return inputs;
}

// The softmax of each image's logits, in batches of the model's size (the
// last one padded with its last image, as netc eval pads).
std::vector<std::vector<double>> probabilities(CompiledModel& model, const Parameters& params,
                                               const std::vector<std::vector<float>>& inputs) {
  const Manifest& m = model.manifest();
  const size_t image_size = size_t(m.image_size()), classes = size_t(m.classes), batch = size_t(m.batch);
  AlignedVector<float> images(batch * image_size), logits(batch * classes), losses(batch);
  AlignedVector<int32_t> labels(batch, 0);
  std::vector<std::vector<double>> result;
  for (size_t start = 0; start < inputs.size(); start += batch) {
    for (size_t k = 0; k < batch; ++k) {
      const std::vector<float>& input = inputs[std::min(start + k, inputs.size() - 1)];
      std::copy(input.begin(), input.end(), images.begin() + ptrdiff_t(k * image_size));
    }
    model.infer(images.data(), labels.data(), params.data(), logits.data(), losses.data());
    for (size_t k = 0; k < batch && start + k < inputs.size(); ++k) {
      const float* z = &logits[k * classes];
      const double top = *std::max_element(z, z + classes);
      std::vector<double> p(classes);
      for (size_t c = 0; c < classes; ++c) p[c] = std::exp(double(z[c]) - top);
      const double sum = std::accumulate(p.begin(), p.end(), 0.0);
      for (double& v : p) v /= sum;
      result.push_back(std::move(p));
    }
  }
  return result;
}

// The classes in order of probability, the most likely first (the lower
// class first among equals).
std::vector<int> ranked(const std::vector<double>& p) {
  std::vector<int> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[size_t(a)] > p[size_t(b)]; });
  return order;
}

void print(const std::string& image, const std::vector<double>& p, const PredictFlags& f) {
  const std::vector<int> order = ranked(p);
  const size_t top = std::min(size_t(f.top), p.size());
  if (f.json) {
    nlohmann::json best = nlohmann::json::array();
    for (size_t k = 0; k < top; ++k) best.push_back({{"class", order[k]}, {"probability", p[size_t(order[k])]}});
    std::printf("%s\n", nlohmann::json{{"image", image}, {"class", order[0]}, {"probabilities", p}, {"top", best}}
                            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                            .c_str());
    return;
  }
  std::string line = fmt::format("{}: {} (", image, order[0]);
  for (size_t k = 0; k < top; ++k)
    line += fmt::format("{}{}: {:.2f}%", k ? ", " : "", order[k], 100 * p[size_t(order[k])]);
  std::printf("%s)\n", line.c_str());
}

void run_predict(const PredictFlags& f) {
  Graph graph = load_graph(f.graph);
  if (graph.input.c != 1 && graph.input.c != 3)
    throw InputError(fmt::format("{}: netc predict takes graphs whose input has 1 (gray) or 3 (RGB) channels, "
                                 "not {}",
                                 f.graph, graph.input.c));
  PipelineOptions pipelines = f.pipelines;
  if (!pipelines.batch_size) pipelines.batch_size = graph.train.batch_size;
  check_pipeline_options(graph, pipelines);
  Parameters params = Parameters::load(parameter_specs(graph), f.weights);
  const std::vector<std::vector<float>> inputs = read_inputs(graph, f);
  std::unique_ptr<CompiledModel> model = load_pipelines(graph, pipelines);
  const std::vector<std::vector<double>> p = probabilities(*model, params, inputs);
  for (size_t k = 0; k < p.size(); ++k) print(f.images[k], p[k], f);
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto f = std::make_shared<PredictFlags>();
  CLI::App* cmd = app.add_subcommand("predict", "Classify images (PNG or PGM) with trained weights");
  cmd->add_option("GRAPH", f->graph, "graph file (YAML)")->required();
  cmd->add_option("IMAGE", f->images, "PNG or PGM images, of any size")->required();
  cmd->add_option("--weights", f->weights, "parameters (safetensors)")->required();
  cmd->add_flag("--json", f->json, "print one JSON object per image");
  cmd->add_option("--top", f->top, "how many of the likeliest classes to print (default 3)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_flag("--invert", f->invert, "use 1 - pixel: dark figures on a light background for a graph trained on "
                                       "light on dark (MNIST)");
  cmd->add_option("--batch-size", f->pipelines.batch_size, "images per pipeline call (default: the graph's)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  cmd->add_option("--schedule", f->pipelines.schedule_file, "schedule file instead of the default")
      ->check(CLI::ExistingFile);
  cmd->add_option("--threads", f->pipelines.threads, "CPU threads (default: every core)")->check(CLI::Range(1, 1024));
  cmd->callback([f] { run_predict(*f); });
}

}  // namespace netc

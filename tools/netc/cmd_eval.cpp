// netc eval GRAPH --weights FILE: test loss and accuracy of trained weights.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "model_session.h"
#include "trainer.h"

namespace netc {
namespace {

struct EvalFlags {
  std::string graph, weights, data;
  bool json = false;
  PipelineOptions pipelines;
};

void run_eval(const EvalFlags& f) {
  Graph graph = load_graph(f.graph);
  PipelineOptions pipelines = f.pipelines;
  if (!pipelines.batch_size) pipelines.batch_size = graph.train.batch_size;
  // Everything that needs no compiled code is checked before compiling.
  check_pipeline_options(graph, pipelines);
  Parameters params = Parameters::load(parameter_specs(graph), f.weights);
  Dataset data = load_dataset(dataset_spec(graph, f.data), graph.num_classes(), graph.input.c, graph.input.h,
                              graph.input.w);
  std::unique_ptr<CompiledModel> model = load_pipelines(graph, pipelines);
  Evaluation e = evaluate(*model, params, data.test_images, data.test_labels);
  if (f.json)
    std::printf("%s\n", nlohmann::json{{"test_loss", e.loss}, {"test_accuracy", e.accuracy}, {"images", e.images}}
                            .dump()
                            .c_str());
  else
    std::printf("%s: test accuracy %.2f%%, test loss %.4f on %lld images\n", graph.name.c_str(), e.accuracy, e.loss,
                (long long)e.images);
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto f = std::make_shared<EvalFlags>();
  CLI::App* cmd = app.add_subcommand("eval", "Test loss and accuracy of a graph with given weights");
  cmd->add_option("GRAPH", f->graph, "graph file (YAML)")->required();
  cmd->add_option("--weights", f->weights, "parameters (safetensors)")->required();
  cmd->add_option("--data", f->data, "folder holding the four MNIST-format IDX files (raw or .gz)");
  cmd->add_flag("--json", f->json, "print one JSON object");
  cmd->add_option("--batch-size", f->pipelines.batch_size, "images per batch (default: the graph's)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  add_pipeline_options(cmd, f->pipelines);
  cmd->callback([f] { run_eval(*f); });
}

}  // namespace netc

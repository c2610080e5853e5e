// netc export GRAPH --weights W -o MODEL.onnx: the inference graph as an ONNX
// model (front/onnx/onnx.h, docs/onnx.md).
#include <cstdio>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "atomic_file.h"
#include "commands.h"
#include "front/onnx/onnx.h"
#include "outputs.h"
#include "parameters.h"

namespace netc {
namespace {

struct ExportFlags {
  std::string graph, weights, output;
  OnnxExportOptions options;
};

void run_export(const ExportFlags& f) {
  check_outputs({{"GRAPH", f.graph}, {"--weights", f.weights}}, {{"-o", f.output}});
  Graph graph = load_graph(f.graph);
  const std::vector<ParameterSpec> specs(graph.params.begin(), graph.params.end());
  Parameters params = Parameters::load(specs, f.weights);
  std::map<std::string, std::vector<float>> weights;
  for (size_t k = 0; k < specs.size(); ++k) weights[specs[k].name].assign(params[k].begin(), params[k].end());
  write_file_atomically(f.output, export_onnx(graph, weights, f.options));
  std::printf("%s: exported to %s (ONNX opset %d, %s, %s parameters)\n", graph.name.c_str(), f.output.c_str(),
              f.options.opset, f.options.softmax ? "probabilities" : "logits",
              std::to_string(graph.param_count()).c_str());
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto f = std::make_shared<ExportFlags>();
  CLI::App* cmd = app.add_subcommand("export", "Write a graph and its weights as an ONNX model (inference)");
  cmd->add_option("GRAPH", f->graph, "graph file (YAML)")->required();
  cmd->add_option("--weights", f->weights, "parameters (safetensors)")->required();
  cmd->add_option("-o,--output", f->output, "the ONNX model to write")->required();
  cmd->add_option("--opset", f->options.opset,
                  fmt::format("ONNX opset, {} to {} (default {})", kMinOnnxExportOpset, kMaxOnnxExportOpset,
                              kMinOnnxExportOpset))
      ->check(CLI::Range(kMinOnnxExportOpset, kMaxOnnxExportOpset));
  cmd->add_flag("--softmax", f->options.softmax, "output probabilities (a Softmax on the logits) instead of logits");
  cmd->callback([f] { run_export(*f); });
}

}  // namespace netc

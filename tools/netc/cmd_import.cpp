// netc import MODEL.onnx -o GRAPH.yaml [--weights-out W]: an ONNX model as a
// graph file and its weights (front/onnx/onnx.h, docs/onnx.md).
#include <cctype>
#include <cstdio>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "atomic_file.h"
#include "commands.h"
#include "front/onnx/onnx.h"
#include "outputs.h"
#include "safetensors.h"

namespace netc {
namespace {

struct ImportFlags {
  std::string model, output, weights_out;
};

// A graph name ([a-z][a-z0-9_]*) from the graph file's name: "LeNet-5.yaml" -> lenet_5.
std::string graph_name_for(const std::string& path) {
  std::string name;
  for (char c : std::filesystem::path(path).stem().string())
    name += std::isalnum((unsigned char)c) ? char(std::tolower((unsigned char)c)) : '_';
  if (name.empty() || !std::islower((unsigned char)name[0])) name = "m" + name;
  return name.substr(0, kMaxNameLength);
}

void run_import(ImportFlags f) {
  if (f.weights_out.empty()) f.weights_out = std::filesystem::path(f.output).replace_extension(".safetensors").string();
  check_outputs({{"MODEL", f.model}}, {{"-o", f.output}, {"--weights-out", f.weights_out}});
  const std::string bytes = read_file(f.model, kMaxOnnxModelBytes, "ONNX model");
  ImportedModel m = import_onnx(bytes, f.model, graph_name_for(f.output));
  std::map<std::string, SafeTensor> tensors;
  int64_t values = 0;
  for (auto& [name, t] : m.weights) {
    values += int64_t(t.floats.size());
    tensors[name] = SafeTensor{t.dims, std::move(t.floats)};
  }
  write_safetensors(f.weights_out, tensors, {{"format", "pt"}});
  write_file_atomically(f.output, m.graph_yaml);
  std::printf("%s: imported as %s with %s parameters in %s\n", f.model.c_str(), f.output.c_str(),
              std::to_string(values).c_str(), f.weights_out.c_str());
}

}  // namespace

void add_import_command(CLI::App& app) {
  auto f = std::make_shared<ImportFlags>();
  CLI::App* cmd = app.add_subcommand("import", "Turn an ONNX model into a graph file and its weights");
  cmd->add_option("MODEL", f->model, "ONNX model (.onnx)")->required();
  cmd->add_option("-o,--output", f->output, "the graph file to write (YAML); its name names the graph")->required();
  cmd->add_option("--weights-out", f->weights_out,
                  "the parameters to write (safetensors; default: the graph file's name with .safetensors)");
  cmd->callback([f] { run_import(*f); });
}

}  // namespace netc

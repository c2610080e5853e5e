// netc compile GRAPH -o DIR: the graph's pipelines as a static library with
// headers, CMake and pkg-config files, for programs without Halide (aot/export.h).
#include <chrono>
#include <cstdio>

#include <fmt/format.h>

#include "commands.h"
#include "compiler_library.h"
#include "front/schedule_file.h"
#include "model_session.h"
#include "outputs.h"

namespace netc {
namespace {

struct CompileFlags {
  std::string graph, output;
  PipelineOptions pipelines;
};

void run_compile(const CompileFlags& f) {
  check_outputs({{"GRAPH", f.graph}, {"--schedule", f.pipelines.schedule_file}},
                {{"-o", f.output, Output::Kind::kCompileFolder}});
  Graph graph = load_graph(f.graph);
  BuildOptions build;
  build.batch = f.pipelines.batch_size ? f.pipelines.batch_size : graph.train.batch_size;
  build.target = f.pipelines.target;
  build.schedule_file = f.pipelines.schedule_file;
  schedule_for(build.target, build.schedule_file);  // its errors need no compiler library
  check_memory_budget(graph, build.batch, f.pipelines);
  auto start = std::chrono::steady_clock::now();
  compiler().export_model(graph, build, f.output);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: compiled into %s in %.1f s; link it with find_package(netc_%s) and netc::%s, "
              "or pkg-config netc_%s\n",
              graph.name.c_str(), f.output.c_str(), seconds, graph.name.c_str(), graph.name.c_str(),
              graph.name.c_str());
}

}  // namespace

void add_compile_command(CLI::App& app) {
  auto f = std::make_shared<CompileFlags>();
  CLI::App* cmd = app.add_subcommand(
      "compile", "Compile a graph's inference and train step into a static library with C++ headers");
  cmd->add_option("GRAPH", f->graph, "graph file (YAML)")->required();
  cmd->add_option("-o,--output", f->output, "output folder (replaced if it holds an earlier output)")->required();
  cmd->add_option("--batch-size", f->pipelines.batch_size, "images per pipeline call (default: the graph's)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  add_build_options(cmd, f->pipelines);
  cmd->callback([f] { run_compile(*f); });
}

}  // namespace netc

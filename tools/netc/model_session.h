// What `train`, `eval` and `bench` share: the options that choose the compiled
// pipelines, and loading them (from the compile cache, compiling on a miss).
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "compiled_model.h"
#include "graph/graph.h"

namespace netc {

struct PipelineOptions {
  std::string target = "host";
  std::string schedule_file;
  int threads = 0;          // 0: every core
  int64_t batch_size = 0;   // 0: the graph's
  bool profile = false;     // with Halide's sampling profiler (netc bench's stage times)
};

// Adds --target and --schedule to `cmd`: what chooses the compiled code.
void add_build_options(CLI::App* cmd, PipelineOptions& o);
// Adds those and --threads (each command has its own --batch-size).
void add_pipeline_options(CLI::App* cmd, PipelineOptions& o);

// The compiled pipelines of `graph` for these options, loaded and set to
// the thread count.
std::unique_ptr<CompiledModel> load_pipelines(const Graph& graph, const PipelineOptions& o);

// A file a command will write (`flag` names it): its folder must exist now,
// not only when it is written after hours of training or tuning; a folder is
// no file. InputError if not.
void check_output_path(const char* flag, const std::string& path);

// The dataset spec: --data if given, else the graph's train.dataset.
std::string dataset_spec(const Graph& graph, const std::string& data_flag);

}  // namespace netc

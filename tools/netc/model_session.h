// What `train`, `eval` and `bench` share: the options that choose the compiled
// pipelines, and loading them from the compile cache, compiling on a miss.
//
// How a cached model is found without the compiler (which links libHalide):
//  1. a graph file's text, fingerprinted with the compiler library, names a
//     record of the cache holding what the compiler made of it: its name,
//     train section and graph fingerprint (only a new or changed file is
//     read by the compiler, which also checks it);
//  2. the model is the cache entry keyed by that graph fingerprint, the batch
//     size, the Halide target string (runtime/host_target.h), the schedule
//     file's text, Halide's version and the compiler library's fingerprint;
//     only a missing entry loads the compiler to compile it.
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

// What `train` and `eval` need of a graph file.
struct GraphFile {
  std::string path;         // as given
  std::string text;         // as read
  std::string name;
  TrainConfig train;
  std::string fingerprint;  // of what changes the compiled code
};

// Reads a graph file; InputError if it cannot be read or is not a valid graph.
GraphFile read_graph_file(const std::string& path);

// The compiled pipelines of `graph` for these options, loaded and set to
// the thread count. Compiling needs no GPU: --target cuda fills the cache
// on any machine, then fails to load where no GPU is (runtime/cuda_driver.h).
std::unique_ptr<CompiledModel> load_pipelines(const GraphFile& graph, const PipelineOptions& o);

// A file a command will write (`flag` names it): its folder must exist now,
// not only when it is written after hours of training or tuning; a folder is
// no file. InputError if not.
void check_output_path(const char* flag, const std::string& path);

// The dataset spec: --data if given, else the graph's train.dataset.
std::string dataset_spec(const GraphFile& graph, const std::string& data_flag);

}  // namespace netc

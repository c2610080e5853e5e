// What `train`, `eval` and `bench` share: the options that choose the compiled
// pipelines, and loading them from the compile cache, compiling on a miss.
//
// How a cached model is found without the compiler (which links libHalide):
// the front end (compiler/front, Halide-free, linked into netc) reads and
// checks the graph and schedule files; the model is the cache entry keyed by
// the graph's fingerprint, its optimizer's update rule, the batch size, the Halide target string
// (runtime/host_target.h), the schedule file's text, Halide's version and
// the compiler library's fingerprint. Only a missing entry loads the
// compiler, to compile it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "compiled_model.h"
#include "front/graph.h"

namespace netc {

struct PipelineOptions {
  std::string target = "host";
  std::string schedule_file;
  int threads = 0;          // 0: every core
  int64_t batch_size = 0;   // 0: the graph's
  bool profile = false;     // with Halide's sampling profiler (netc bench's stage times)
  double memory_limit_gb = 0;  // the memory budget of a training step; 0: this machine's memory
  bool data_parallel = false;  // with the train step's halves (BuildOptions::data_parallel)
};

// Adds --target, --schedule and --memory-limit to `cmd`: what chooses the
// compiled code, and how much memory it may ask for.
void add_build_options(CLI::App* cmd, PipelineOptions& o);
// Adds those and --threads (each command has its own --batch-size).
void add_pipeline_options(CLI::App* cmd, PipelineOptions& o);

// InputError unless a training step of `graph` at `batch` fits the memory
// budget of `o` (front/graph.h check_memory), checked before anything is
// compiled or allocated.
void check_memory_budget(const Graph& graph, int64_t batch, const PipelineOptions& o);

// The checks of `o` that need no compiled code, cheapest first: the target's
// device is here (for --target cuda a GPU and its driver, runtime/cuda_driver.h;
// else std::runtime_error, exit code 1), the schedule file reads, and a
// training step of `graph` fits the memory budget (InputError).
// load_pipelines() makes them; commands that load data, weights or images
// call it first, so that no mistake waits for them.
void check_pipeline_options(const Graph& graph, const PipelineOptions& o);

// The compiled pipelines of `graph` for these options, loaded and set to
// the thread count. The schedule file is read and checked first, so that a
// bad one is an InputError whether or not the model is cached; and so for
// every check of check_pipeline_options(): pipelines that cannot run here
// are not compiled (netc compile, which only compiles, needs no GPU).
std::unique_ptr<CompiledModel> load_pipelines(const Graph& graph, const PipelineOptions& o);

// The graph's parameter table as compiled models list it (Manifest::params),
// for reading weights before anything is compiled.
std::vector<ParameterSpec> parameter_specs(const Graph& graph);

// The dataset spec: --data if given, else the graph's train.dataset.
std::string dataset_spec(const Graph& graph, const std::string& data_flag);

}  // namespace netc

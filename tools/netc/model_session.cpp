#include "model_session.h"

#include <unistd.h>

#include <thread>

#include <fmt/format.h>

#include "compile_cache.h"
#include "compiler_library.h"
#include "cuda_driver.h"
#include "front/schedule_file.h"

namespace netc {
namespace {

// The compiler, or why a model must be compiled and cannot be.
const CompilerApi& compiler_for(const std::string& what) {
  try {
    return compiler();
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{} is not in the compile cache ({}), and {}", what, cache_root(), e.what()));
  }
}

}  // namespace

void add_build_options(CLI::App* cmd, PipelineOptions& o) {
  cmd->add_option("--target", o.target, "host (default) or cuda")->check(CLI::IsMember({"host", "cuda"}));
  cmd->add_option("--memory-limit", o.memory_limit_gb,
                  "GB a training step may need, estimated before compiling (default: this machine's memory)")
      ->check(CLI::Range(0.001, 1e6));
  cmd->add_option("--schedule", o.schedule_file, "schedule file instead of the target's default")
      ->check(CLI::ExistingFile);
}

void add_pipeline_options(CLI::App* cmd, PipelineOptions& o) {
  add_build_options(cmd, o);
  cmd->add_option("--threads", o.threads, "CPU threads (default: every core)")->check(CLI::Range(1, 1024));
}

void check_memory_budget(const Graph& graph, int64_t batch, const PipelineOptions& o) {
  if (o.memory_limit_gb > 0) {
    check_memory(graph, batch, uint64_t(o.memory_limit_gb * 1e9), fmt::format("--memory-limit {:g}", o.memory_limit_gb));
    return;
  }
  const uint64_t machine = uint64_t(sysconf(_SC_PHYS_PAGES)) * uint64_t(sysconf(_SC_PAGE_SIZE));
  check_memory(graph, batch, machine, "this machine's memory (--memory-limit raises it)");
}

void check_pipeline_options(const Graph& graph, const PipelineOptions& o) {
  if (o.target == "cuda") require_cuda_device();
  schedule_for(o.target, o.schedule_file);  // a bad schedule file fails before the cache is looked at
  check_memory_budget(graph, o.batch_size ? o.batch_size : graph.train.batch_size, o);
}

std::unique_ptr<CompiledModel> load_pipelines(const Graph& graph, const PipelineOptions& o) {
  check_pipeline_options(graph, o);
  BuildOptions build;
  build.batch = o.batch_size ? o.batch_size : graph.train.batch_size;
  build.target = o.target;
  build.schedule_file = o.schedule_file;
  build.profile = o.profile;
  build.data_parallel = o.data_parallel;
  const int threads = o.threads ? o.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  build.micro_batch = micro_batch_for(build.batch, build.target, threads);
  const std::string dir = cached_model(graph.name, graph_fingerprint(graph), update_rule(graph.train.optimizer.type),
                                       build, compiler_fingerprint(),
                                       [&](const std::string& folder) {
                                         compiler_for("the model " + graph.name).compile_model(graph, build, folder);
                                       });
  auto model = std::make_unique<CompiledModel>(dir);
  model->set_threads(threads);
  return model;
}

std::vector<ParameterSpec> parameter_specs(const Graph& graph) {
  return std::vector<ParameterSpec>(graph.params.begin(), graph.params.end());
}

std::string dataset_spec(const Graph& graph, const std::string& data_flag) {
  return data_flag.empty() ? graph.train.dataset : data_flag;
}

}  // namespace netc

// netc bench GRAPH: how fast the compiled pipelines run here, and where the
// time goes: medians of timed training steps and inference batches after a
// warm-up, GFLOP/s against the machine's measured peak, and per-stage times
// from a second, profiled build of the same pipelines.
#include <cstdio>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "model_session.h"
#include "step_timing.h"

namespace netc {
namespace {

struct BenchFlags {
  std::string graph;
  int steps = 30, warmup = 5;
  bool json = false, stages = true;
  PipelineOptions pipelines;
};

// Per-stage times of the training step, from the profiled build.
nlohmann::json stage_table(const GraphFile& graph, const BenchFlags& f) {
  PipelineOptions o = f.pipelines;
  o.profile = true;
  std::unique_ptr<CompiledModel> model = load_pipelines(graph, o);
  model->quiet_profile();
  RandomBatch data(model->manifest());
  for (int i = 0; i < f.warmup; ++i) data.train_step(*model);
  model->reset_profile();
  for (int i = 0; i < f.steps; ++i) data.train_step(*model);
  nlohmann::json stages = nlohmann::json::array();
  double total = 0;
  std::vector<StageTime> times = model->stage_times(model->manifest().train_step);
  for (const StageTime& t : times) total += t.ms;
  for (const StageTime& t : times)
    stages.push_back({{"name", t.name}, {"ms", t.ms}, {"percent", total > 0 ? 100 * t.ms / total : 0.0}});
  return stages;
}

void print_text(const nlohmann::json& r) {
  std::printf("%s: batch %lld, %d thread%s, schedule %s\n", r["graph"].get<std::string>().c_str(),
              (long long)r["batch"].get<int64_t>(), r["threads"].get<int>(), r["threads"].get<int>() == 1 ? "" : "s",
              r["schedule"].get<std::string>().c_str());
  std::printf("  train step  %9.2f ms  %9.0f images/s  %7.1f GFLOP/s  %5.1f%% of peak (%.1f GFLOP/s)\n",
              r["train_step_ms"].get<double>(), r["images_per_s"].get<double>(), r["gflops"].get<double>(),
              r["peak_fraction"].get<double>() * 100, r["peak_gflops"].get<double>());
  std::printf("  inference   %9.2f ms  %9.0f images/s  %7.1f GFLOP/s\n", r["inference_ms"].get<double>(),
              r["inference_images_per_s"].get<double>(), r["inference_gflops"].get<double>());
  if (!r.contains("stages")) return;
  std::printf("  stages of the train step (Halide's sampling profiler):\n");
  for (const auto& s : r["stages"])
    std::printf("    %-40s %8.3f ms  %5.1f%%\n", s["name"].get<std::string>().c_str(), s["ms"].get<double>(),
                s["percent"].get<double>());
}

void run_bench(const BenchFlags& f) {
  // The timing loop passes host buffers, which a GPU model does not take.
  if (f.pipelines.target == "cuda")
    throw std::runtime_error("netc bench times host pipelines only, not cuda yet; on a GPU, netc train "
                             "--target cuda reports steps per second (tools/gpu-check.sh, docs/gpu.md)");
  GraphFile graph = read_graph_file(f.graph);
  PipelineOptions o = f.pipelines;
  if (!o.batch_size) o.batch_size = graph.train.batch_size;
  if (!o.threads) o.threads = int(std::max(1u, std::thread::hardware_concurrency()));
  std::unique_ptr<CompiledModel> model = load_pipelines(graph, o);
  const Manifest& m = model->manifest();
  RandomBatch data(m);

  double step_ms = median_ms(f.warmup, f.steps, [&] { data.train_step(*model); });
  double infer_ms = median_ms(f.warmup, f.steps, [&] { data.infer(*model); });
  double peak = model->measure_peak_gflops();
  double gflops = double(m.train_step_flops) / step_ms * 1e-6;
  nlohmann::json r = {{"graph", graph.name},
                      {"target", o.target},
                      {"schedule", o.schedule_file.empty() ? std::string("default") : o.schedule_file},
                      {"batch", m.batch},
                      {"threads", o.threads},
                      {"steps", f.steps},
                      {"train_step_ms", step_ms},
                      {"images_per_s", double(m.batch) / step_ms * 1e3},
                      {"train_step_gflop", double(m.train_step_flops) * 1e-9},
                      {"gflops", gflops},
                      {"peak_gflops", peak},
                      {"peak_fraction", gflops / peak},
                      {"inference_ms", infer_ms},
                      {"inference_images_per_s", double(m.batch) / infer_ms * 1e3},
                      {"inference_gflops", double(m.inference_flops) / infer_ms * 1e-6}};
  if (f.stages) r["stages"] = stage_table(graph, f);
  if (f.json)
    std::printf("%s\n", r.dump().c_str());
  else
    print_text(r);
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto f = std::make_shared<BenchFlags>();
  CLI::App* cmd = app.add_subcommand("bench", "Time the compiled training step and inference, per stage");
  cmd->add_option("GRAPH", f->graph, "graph file (YAML)")->required();
  cmd->add_option("--batch-size", f->pipelines.batch_size, "images per batch (default: the graph's)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  cmd->add_option("--steps", f->steps, "timed runs of each pipeline (the median is reported)")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--warmup", f->warmup, "untimed runs first")->check(CLI::Range(0, 1000000));
  cmd->add_flag("!--no-stages", f->stages, "skip the per-stage profile (which compiles a profiled build)");
  cmd->add_flag("--json", f->json, "print one JSON object");
  add_pipeline_options(cmd, f->pipelines);
  cmd->callback([f] { run_bench(*f); });
}

}  // namespace netc

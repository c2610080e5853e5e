// netc bench GRAPH: how fast the compiled pipelines run here, and where the
// time goes: medians of timed training steps and inference batches after a
// warm-up, GFLOP/s against the machine's measured peak, and per-stage times
// from a second, profiled build of the same pipelines. On a GPU it times
// what netc train and eval run there: steps with everything on the device.
// With --compare, two schedules' training steps timed in alternation instead.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "device_training.h"
#include "model_session.h"
#include "step_timing.h"

namespace netc {
namespace {

struct BenchFlags {
  std::string graph;
  std::string compare;  // a second schedule, timed alternately with the first
  int steps = 30, warmup = 5, rounds = 21;
  bool json = false, stages = true;
  PipelineOptions pipelines;
};

// Per-stage times of the training step, from the profiled build.
nlohmann::json stage_table(const Graph& graph, const BenchFlags& f) {
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
  std::vector<StageTime> times = model->train_step_stage_times();
  for (const StageTime& t : times) total += t.ms;
  for (const StageTime& t : times)
    stages.push_back({{"name", t.name}, {"ms", t.ms}, {"percent", total > 0 ? 100 * t.ms / total : 0.0}});
  return stages;
}

struct Times {
  double step_ms = 0, inference_ms = 0;
};

Times time_on_host(CompiledModel& model, const BenchFlags& f) {
  RandomBatch data(model.manifest());
  return {median_ms(f.warmup, f.steps, [&] { data.train_step(model); }),
          median_ms(f.warmup, f.steps, [&] { data.infer(model); })};
}

// GPU kernels run asynchronously: a timed run enqueues this many steps (or
// inference batches) and waits for the last, as training waits once per
// DeviceTraining::kMaxSteps steps.
constexpr int64_t kGpuCallsPerRun = 10;

// Random images and labels, kGpuCallsPerRun batches for training and as many
// for evaluation.
Dataset random_dataset(const Manifest& m) {
  if (m.input.at(0) != 1)
    throw std::runtime_error(fmt::format("netc bench --target cuda gathers one-channel (IDX) images on the device; "
                                         "the graph's input has {} channels", m.input[0]));
  std::mt19937 gen(1);
  auto images = [&](std::vector<uint8_t>& labels) {
    IdxImages set{m.batch * kGpuCallsPerRun, m.input[1], m.input[2], {}};
    for (int64_t k = 0; k < set.count * set.rows * set.cols; ++k) set.pixels.push_back(uint8_t(gen()));
    for (int64_t k = 0; k < set.count; ++k) labels.push_back(uint8_t(gen() % uint32_t(m.classes)));
    return set;
  };
  Dataset d;
  d.train_images = images(d.train_labels);
  d.test_images = images(d.test_labels);
  return d;
}

Times time_on_device(CompiledModel& model, const BenchFlags& f) {
  const Manifest& m = model.manifest();
  const Dataset data = random_dataset(m);
  DeviceTraining training(model, Parameters::initialize(m.params, 1), zero_slots(m.update, m.params), data);
  std::vector<std::vector<int32_t>> batches(kGpuCallsPerRun);
  for (int64_t s = 0; s < kGpuCallsPerRun; ++s)
    for (int64_t k = 0; k < m.batch; ++k) batches[size_t(s)].push_back(int32_t(s * m.batch + k));
  const std::vector<StepScalars> scalars(batches.size(), typical_step_scalars(m.update));
  const double steps_ms = median_ms(f.warmup, f.steps, [&] {
    training.run(batches, scalars);
    training.take_losses();
  });
  // An evaluation reads each batch's logits back, as netc eval does.
  const double evaluation_ms = median_ms(f.warmup, f.steps, [&] { training.evaluate_test_set(); });
  return {steps_ms / double(kGpuCallsPerRun), evaluation_ms / double(kGpuCallsPerRun)};
}

void print_text(const nlohmann::json& r) {
  std::printf("%s: batch %lld, %d thread%s, schedule %s\n", r["graph"].get<std::string>().c_str(),
              (long long)r["batch"].get<int64_t>(), r["threads"].get<int>(), r["threads"].get<int>() == 1 ? "" : "s",
              r["schedule"].get<std::string>().c_str());
  std::printf("  train step  %9.3f ms  %9.0f images/s  %7.1f GFLOP/s", r["train_step_ms"].get<double>(),
              r["images_per_s"].get<double>(), r["gflops"].get<double>());
  if (r["peak_gflops"].is_null())
    std::printf("\n");
  else if (r["peak_fraction"].is_null())
    std::printf("  no share of the peak: the FMA probe read %.1f GFLOP/s, less than the step (the machine was busy)\n",
                r["peak_gflops"].get<double>());
  else
    std::printf("  %5.1f%% of peak (%.1f GFLOP/s)\n", r["peak_fraction"].get<double>() * 100,
                r["peak_gflops"].get<double>());
  std::printf("  inference   %9.3f ms  %9.0f images/s  %7.1f GFLOP/s\n", r["inference_ms"].get<double>(),
              r["inference_images_per_s"].get<double>(), r["inference_gflops"].get<double>());
  if (!r.contains("stages")) return;
  if (r["stages"].is_null()) {
    std::printf("  stages: Halide's profiler samples host code only, not GPU kernels\n");
    return;
  }
  std::printf("  stages of the train step (Halide's sampling profiler):\n");
  for (const auto& s : r["stages"])
    std::printf("    %-40s %8.3f ms  %5.1f%%\n", s["name"].get<std::string>().c_str(), s["ms"].get<double>(),
                s["percent"].get<double>());
}

nlohmann::json spread_json(const std::string& schedule, const std::vector<double>& rounds) {
  const RoundSpread s = spread_of(rounds);
  return {{"schedule", schedule}, {"train_step_ms", s.median}, {"middle_half_ms", {s.low, s.high}},
          {"min_ms", s.min},      {"max_ms", s.max},           {"rounds_ms", rounds}};
}

// Two schedules of the same graph, batch and threads, one training step of
// each per round, alternately, so that other work on the machine slows both
// alike: their medians, spreads, and the speedup of B over A.
void run_comparison(const Graph& graph, PipelineOptions a, const BenchFlags& f) {
  PipelineOptions b = a;
  b.schedule_file = f.compare;
  std::unique_ptr<CompiledModel> model_a = load_pipelines(graph, a), model_b = load_pipelines(graph, b);
  if (model_a->manifest().on_gpu())
    throw std::runtime_error("netc bench --compare times host schedules only; GPU steps run asynchronously");
  RandomBatch data_a(model_a->manifest()), data_b(model_b->manifest());
  for (int i = 0; i < f.warmup; ++i) {
    data_a.train_step(*model_a);
    data_b.train_step(*model_b);
  }
  auto time_step = [](RandomBatch& data, CompiledModel& model) {
    const auto start = std::chrono::steady_clock::now();
    data.train_step(model);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  };
  std::vector<double> rounds_a, rounds_b, ratios;
  for (int i = 0; i < f.rounds; ++i) {
    rounds_a.push_back(time_step(data_a, *model_a));
    rounds_b.push_back(time_step(data_b, *model_b));
    ratios.push_back(rounds_a.back() / rounds_b.back());
  }
  const RoundSpread sa = spread_of(rounds_a), sb = spread_of(rounds_b), ratio = spread_of(ratios);
  const std::string verdict = faster_beyond_noise(sb, sa)   ? "B is faster beyond the noise"
                              : faster_beyond_noise(sa, sb) ? "A is faster beyond the noise"
                                                            : "within the noise";
  nlohmann::json r = {{"graph", graph.name},
                      {"target", a.target},
                      {"batch", model_a->manifest().batch},
                      {"threads", a.threads},
                      {"rounds", f.rounds},
                      {"a", spread_json(a.schedule_file.empty() ? "default" : a.schedule_file, rounds_a)},
                      {"b", spread_json(b.schedule_file, rounds_b)},
                      {"speedup", sa.median / sb.median},
                      {"speedup_middle_half", {ratio.low, ratio.high}},
                      {"verdict", verdict}};
  if (f.json) {
    std::printf("%s\n", r.dump().c_str());
    return;
  }
  std::printf("%s: batch %lld, %d thread%s, %d rounds of one training step of each, alternately\n", graph.name.c_str(),
              (long long)model_a->manifest().batch, a.threads, a.threads == 1 ? "" : "s", f.rounds);
  std::printf("  %-4s %-40s %9s  %-17s  %s\n", "", "schedule", "median", "middle half", "all");
  for (const char* key : {"a", "b"}) {
    const nlohmann::json& s = r[key];
    std::printf("  %-4s %-40s %6.3f ms  %7.3f-%-7.3f ms  %.3f-%.3f ms\n", key[0] == 'a' ? "A" : "B",
                s["schedule"].get<std::string>().c_str(), s["train_step_ms"].get<double>(),
                s["middle_half_ms"][0].get<double>(), s["middle_half_ms"][1].get<double>(), s["min_ms"].get<double>(),
                s["max_ms"].get<double>());
  }
  std::printf("  B is %.3fx the speed of A (per round: middle half %.3f-%.3f): %s\n", sa.median / sb.median,
              ratio.low, ratio.high, verdict.c_str());
}

// The machine's FMA peak, probed again (up to 4 times in all) while it reads
// below `step_gflops`, which no step can exceed: a neighbour that took the
// core during the probe once made a step read 694% of the peak. The best
// probe is returned; a caller shows no share of a peak still below the step.
double measured_peak_gflops(CompiledModel& model, double step_gflops) {
  double peak = model.measure_peak_gflops();
  for (int retry = 0; retry < 3 && peak < step_gflops; ++retry) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    peak = std::max(peak, model.measure_peak_gflops());
  }
  return peak;
}

void run_bench(const BenchFlags& f) {
  Graph graph = load_graph(f.graph);
  PipelineOptions o = f.pipelines;
  if (!o.batch_size) o.batch_size = graph.train.batch_size;
  if (!o.threads) o.threads = int(std::max(1u, std::thread::hardware_concurrency()));
  if (!f.compare.empty()) return run_comparison(graph, o, f);
  std::unique_ptr<CompiledModel> model = load_pipelines(graph, o);
  const Manifest& m = model->manifest();
  const Times t = m.on_gpu() ? time_on_device(*model, f) : time_on_host(*model, f);
  const double step_ms = t.step_ms, infer_ms = t.inference_ms;
  const double gflops = double(m.train_step_flops) / step_ms * 1e-6;
  nlohmann::json peak, peak_fraction;  // null on a GPU: the peak probe measures the CPU
  if (!m.on_gpu()) {
    const double measured = measured_peak_gflops(*model, gflops);
    peak = measured;
    if (gflops <= measured) peak_fraction = gflops / measured;
  }
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
                      {"peak_fraction", peak_fraction},
                      {"inference_ms", infer_ms},
                      {"inference_images_per_s", double(m.batch) / infer_ms * 1e3},
                      {"inference_gflops", double(m.inference_flops) / infer_ms * 1e-6}};
  if (f.stages) r["stages"] = m.on_gpu() ? nlohmann::json() : stage_table(graph, f);
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
  cmd->add_option("--compare", f->compare,
                  "time this schedule's training step alternately with --schedule's (or the default's), "
                  "and print both with their spread and the speedup")
      ->check(CLI::ExistingFile);
  cmd->add_option("--rounds", f->rounds, "with --compare: rounds of one step of each (default 21)")
      ->check(CLI::Range(1, 1000000));
  add_pipeline_options(cmd, f->pipelines);
  cmd->callback([f] { run_bench(*f); });
}

}  // namespace netc

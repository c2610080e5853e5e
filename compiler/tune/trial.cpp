#include "tune/trial.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "aot/model_cache.h"
#include "atomic_file.h"
#include "process.h"
#include "step_check.h"
#include "step_timing.h"

namespace netc {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double time_once(RandomBatch& data, CompiledModel& model) {
  auto start = Clock::now();
  data.train_step(model);
  return ms_since(start);
}

// How many timed runs of `ms` each make about `seconds`, at least `least`;
// odd, so that the median is one of them.
int runs_for(double seconds, double ms, int least) {
  return std::max(least, std::clamp(int(seconds * 1000 / std::max(ms, 0.01)), 1, 41)) | 1;
}

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

void time_train_step(CompiledModel& model, const TrialRequest& req, TrialResult& r) {
  RandomBatch data(model.manifest());
  const int runs = runs_for(req.timing_s, time_once(data, model), req.min_rounds);
  for (int i = 0; i < runs; ++i) r.rounds_ms.push_back(time_once(data, model));
  r.train_step_ms = median(r.rounds_ms);
}

// `model` and `baseline` timed in alternation, one step each per round, so
// that a machine busy with other work slows both alike; their medians.
void time_against(CompiledModel& model, CompiledModel& baseline, const TrialRequest& req, TrialResult& r) {
  RandomBatch a(model.manifest()), b(baseline.manifest());
  const int runs = runs_for(req.timing_s, time_once(a, model) + time_once(b, baseline), req.min_rounds);
  for (int i = 0; i < runs; ++i) {
    r.rounds_ms.push_back(time_once(a, model));
    r.baseline_rounds_ms.push_back(time_once(b, baseline));
  }
  r.train_step_ms = median(r.rounds_ms);
  r.baseline_ms = median(r.baseline_rounds_ms);
}

// Halide's profiler samples every millisecond or so: steps for a second at
// least, however short they are, so that every stage that matters is seen.
std::vector<std::pair<std::string, double>> profile_train_step(CompiledModel& model) {
  model.quiet_profile();
  RandomBatch data(model.manifest());
  data.train_step(model);
  model.reset_profile();
  const auto start = Clock::now();
  for (int runs = 0; runs < 3 || ms_since(start) < 1000; ++runs) data.train_step(model);
  std::vector<std::pair<std::string, double>> stages;
  for (const StageTime& t : model.train_step_stage_times()) stages.emplace_back(t.name, t.ms);
  return stages;
}

const char* mode_name(TrialRequest::Mode m) {
  switch (m) {
    case TrialRequest::Mode::kWriteReference: return "reference";
    case TrialRequest::Mode::kProfile: return "profile";
    default: return "check";
  }
}

// A scratch file of its own in the temporary folder.
std::string scratch_file(const std::string& suffix) {
  std::string pattern = (std::filesystem::temp_directory_path() / ("netc-trial-XXXXXX" + suffix)).string();
  int fd = mkstemps(pattern.data(), int(suffix.size()));
  if (fd < 0) throw std::runtime_error("cannot create a temporary file in " + std::filesystem::temp_directory_path().string());
  close(fd);
  return pattern;
}

}  // namespace

TrialResult run_trial(const TrialRequest& req) {
  TrialResult r;
  try {
    // Trials compile into the search's own cache, removed when it ends.
    if (!req.cache_dir.empty()) setenv("NETC_CACHE_DIR", req.cache_dir.c_str(), 1);
    Graph graph = load_graph(req.graph);
    BuildOptions o;
    o.batch = req.batch;
    o.target = req.target;
    o.schedule_file = req.schedule;
    o.profile = req.mode == TrialRequest::Mode::kProfile;
    CompiledModel model(cached_model(graph, o));
    model.set_threads(req.threads);
    if (req.mode == TrialRequest::Mode::kWriteReference) {
      save_step_outputs(req.reference, run_check_step(model));
      r.correct = true;
      return r;
    }
    if (req.mode == TrialRequest::Mode::kProfile) {
      r.stages = profile_train_step(model);
      r.correct = true;
      return r;
    }
    StepComparison c = compare_step_outputs(run_check_step(model), load_step_outputs(req.reference));
    r.max_relative_error = c.max_relative_error;
    if (!c.problem.empty()) {
      r.error = "its outputs do not match the reference schedule's: " + c.problem;
    } else if (!(c.max_relative_error <= req.tolerance)) {
      r.error = fmt::format("differs from the reference schedule: relative error {:.3g} in {} (at most {:g} allowed)",
                            c.max_relative_error, c.worst, req.tolerance);
    } else if (req.baseline.empty()) {
      r.correct = true;
      time_train_step(model, req, r);
    } else {
      o.schedule_file = req.baseline;
      CompiledModel baseline(cached_model(graph, o));
      baseline.set_threads(req.threads);
      time_against(model, baseline, req, r);
      r.correct = true;
    }
  } catch (const std::exception& e) {
    r.correct = false;
    r.error = e.what();
  }
  return r;
}

std::vector<std::string> trial_arguments(const TrialRequest& req, const std::string& result_file) {
  std::vector<std::string> args = {"tune-trial", "--mode",   mode_name(req.mode), "--graph", req.graph, "--schedule",
                                   req.schedule, "--reference", req.reference,    "--target", req.target, "--batch",
                                   std::to_string(req.batch), "--threads", std::to_string(req.threads), "--result",
                                   result_file};
  if (!req.baseline.empty()) args.insert(args.end(), {"--baseline", req.baseline});
  if (!req.cache_dir.empty()) args.insert(args.end(), {"--cache-dir", req.cache_dir});
  args.insert(args.end(), {"--seconds", fmt::format("{}", req.timing_s), "--rounds", std::to_string(req.min_rounds)});
  return args;
}

TrialResult run_trial_process(const TrialRequest& req, double timeout_s) {
  const std::string result_file = scratch_file(".json"), output_file = scratch_file(".log");
  struct Cleanup {
    std::vector<std::string> files;
    ~Cleanup() {
      std::error_code ec;
      for (const std::string& f : files) std::filesystem::remove(f, ec);
    }
  } cleanup{{result_file, output_file}};

  ProgramRun trial;
  trial.argv = trial_arguments(req, result_file);
  trial.argv.insert(trial.argv.begin(), std::filesystem::read_symlink("/proc/self/exe").string());
  trial.output = output_file;
  trial.timeout_s = timeout_s;
  trial.stop = req.stop;
  const ProgramExit exit = run_program(trial);
  TrialResult r;
  if (exit.stopped) {
    r.stopped = true;
    r.error = "stopped";
    return r;
  }
  if (exit.timed_out) {
    r.out_of_time = true;
    r.error = fmt::format("stopped after {:.0f} s", timeout_s);
    return r;
  }
  std::string text;
  try {
    text = read_file(result_file, 1 << 24);
  } catch (const std::exception&) {
  }
  if (!text.empty()) return trial_result_of(nlohmann::json::parse(text));
  const std::string line = last_line(output_file);
  r.error = fmt::format("the trial {}{}", exit.describe(trial), line.empty() ? "" : ": " + line);
  return r;
}

nlohmann::json to_json(const TrialResult& r) {
  nlohmann::json stages = nlohmann::json::array();
  for (const auto& [name, ms] : r.stages) stages.push_back({name, ms});
  return {{"correct", r.correct},
          {"train_step_ms", r.train_step_ms},
          {"baseline_ms", r.baseline_ms},
          {"max_relative_error", std::isfinite(r.max_relative_error) ? nlohmann::json(r.max_relative_error) : nlohmann::json()},
          {"error", r.error},
          {"rounds_ms", r.rounds_ms},
          {"baseline_rounds_ms", r.baseline_rounds_ms},
          {"stages", stages}};
}

TrialResult trial_result_of(const nlohmann::json& j) {
  TrialResult r;
  r.correct = j.at("correct").get<bool>();
  r.train_step_ms = j.at("train_step_ms").get<double>();
  r.baseline_ms = j.at("baseline_ms").get<double>();
  r.max_relative_error = j.at("max_relative_error").is_null() ? INFINITY : j.at("max_relative_error").get<double>();
  r.error = j.at("error").get<std::string>();
  r.rounds_ms = j.at("rounds_ms").get<std::vector<double>>();
  r.baseline_rounds_ms = j.at("baseline_rounds_ms").get<std::vector<double>>();
  for (const auto& s : j.at("stages")) r.stages.emplace_back(s.at(0).get<std::string>(), s.at(1).get<double>());
  return r;
}

}  // namespace netc

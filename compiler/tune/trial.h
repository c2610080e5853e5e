// One trial of `netc tune`: a schedule compiled for the graph, checked against
// the reference schedule's outputs, and timed if correct (or profiled, or run
// to make the reference outputs). Each runs in a process of its own
// (`netc tune-trial`), so that a schedule that crashes Halide or LLVM, or
// compiles forever, costs the tuner one trial and nothing else, and so that
// Halide's chatter stays out of the tuner's report.
#pragma once

#include <csignal>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace netc {

struct TrialRequest {
  enum class Mode { kCheckAndTime, kWriteReference, kProfile };
  Mode mode = Mode::kCheckAndTime;
  std::string graph;      // graph file
  std::string schedule;   // schedule file
  std::string reference;  // reference outputs (step_check.h): read, or written in kWriteReference
  std::string baseline;   // kCheckAndTime: a schedule timed alternately with this one, if given
  std::string target = "host";
  int64_t batch = 100;
  int threads = 1;
  double tolerance = 1e-5;  // largest relative error that is still correct
  // kCheckAndTime: about this many seconds of timed steps, in at least
  // `min_rounds` rounds (one step of each schedule per round with a baseline).
  double timing_s = 1;
  int min_rounds = 5;
  std::string cache_dir;  // the compile cache the trial uses; empty: the usual one
  // run_trial_process: the trial is killed as soon as this becomes nonzero.
  const volatile std::sig_atomic_t* stop = nullptr;
};

struct TrialResult {
  bool correct = false;  // compiled, ran, and agrees with the reference (kCheckAndTime)
  double train_step_ms = 0;
  double baseline_ms = 0;  // the baseline's median in the same runs
  std::vector<double> rounds_ms, baseline_rounds_ms;  // every timed step of each, in the order run
  double max_relative_error = 0;
  std::string error;     // why not
  std::vector<std::pair<std::string, double>> stages;  // kProfile: ms per step of each profiled Func
  bool out_of_time = false;  // stopped at the caller's deadline; says nothing about the schedule
  bool stopped = false;      // killed at the caller's request (TrialRequest::stop)
};

// Runs the trial in this process (`netc tune-trial`). Bad schedules are
// reported in the result, never thrown.
TrialResult run_trial(const TrialRequest& request);

// Runs the trial in a child process of this netc, stopping it after
// `timeout_s` seconds (then out_of_time is set).
TrialResult run_trial_process(const TrialRequest& request, double timeout_s);

// The command line of `netc tune-trial` and its result file.
std::vector<std::string> trial_arguments(const TrialRequest& request, const std::string& result_file);
nlohmann::json to_json(const TrialResult& r);
TrialResult trial_result_of(const nlohmann::json& j);

}  // namespace netc

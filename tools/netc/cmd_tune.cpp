// netc tune GRAPH: searches for a faster schedule (compiler/tune/tuner.h,
// docs/tuning.md); netc tune --report LOG -o FILE.svg: the picture of a
// search. And `netc tune-trial`, hidden: one trial in a process of its own,
// which `netc tune` starts (compiler/tune/trial.h).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "atomic_file.h"
#include "commands.h"
#include "compiler_library.h"
#include "front/graph.h"
#include "front/schedule_file.h"
#include "model_session.h"
#include "outputs.h"
#include "stop_signals.h"
#include "trainer.h"

namespace netc {
namespace {

struct TuneFlags {
  TuneOptions options;
  std::string report;
};

void run_report(const TuneFlags& f) {
  if (!f.options.graph.empty()) throw InputError("give either GRAPH (to tune) or --report LOG, not both");
  if (f.options.out.empty()) throw InputError("--report needs -o FILE.svg");
  check_outputs({{"--report", f.report}}, {{"-o", f.options.out}});
  write_file_atomically(f.options.out, compiler().tuning_report_svg(f.report));
}

void run_tune(TuneFlags f) {
  if (!f.report.empty()) return run_report(f);
  TuneOptions& o = f.options;
  if (o.graph.empty()) throw InputError("give a GRAPH to tune, or --report LOG -o FILE.svg");
  // Trials time steps with host buffers, which a GPU model does not take.
  if (o.target == "cuda")
    throw std::runtime_error("netc tune searches host schedules only, not cuda yet; docs/gpu.md compares "
                             "schedules/cuda/default.yaml with li2018.yaml on a GPU");
  // The graph and the start schedule are checked here, so that their errors
  // need no compiler library.
  Graph graph = load_graph(o.graph);
  if (!o.start.empty()) load_schedule(o.start);
  // The default names are filled in here so that they are checked as given ones are.
  if (o.log.empty()) o.log = graph.name + ".tune.jsonl";
  if (o.out.empty()) o.out = graph.name + ".schedule.yaml";
  check_outputs({{"GRAPH", o.graph}, {"--start", o.start}},
                {{"--log", o.log, Output::Kind::kTuningLog}, {"--out", o.out}});
  check_memory_budget(graph, o.batch ? o.batch : graph.train.batch_size, PipelineOptions{});
  // SIGINT and SIGTERM stop the search, its running trial and its folders
  // removed, with nothing written; netc then exits with 130 or 143.
  StopOnSignals stop_on_signals;
  o.stop = &stop_signal;
  try {
    compiler().tune(graph, o);
  } catch (const std::exception& e) {
    if (stop_signal) throw TrainingStopped(e.what(), stop_signal);
    throw;
  }
}

void add_trial_command(CLI::App& app) {
  auto r = std::make_shared<TrialRequest>();
  auto mode = std::make_shared<std::string>("check");
  auto result = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("tune-trial", "One trial of netc tune (started by it)");
  cmd->group("");  // not for people: hidden from --help
  cmd->add_option("--mode", *mode)->check(CLI::IsMember({"check", "reference", "profile"}))->required();
  cmd->add_option("--graph", r->graph)->required();
  cmd->add_option("--schedule", r->schedule)->required();
  cmd->add_option("--reference", r->reference)->required();
  cmd->add_option("--baseline", r->baseline);
  cmd->add_option("--target", r->target);
  cmd->add_option("--batch", r->batch)->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  cmd->add_option("--threads", r->threads)->check(CLI::Range(1, 1024));
  cmd->add_option("--result", *result)->required();
  cmd->add_option("--cache-dir", r->cache_dir);
  cmd->add_option("--seconds", r->timing_s)->check(CLI::Range(0.0, 3600.0));
  cmd->add_option("--rounds", r->min_rounds)->check(CLI::Range(1, 1000));
  cmd->callback([r, mode, result] {
    r->mode = *mode == "reference" ? TrialRequest::Mode::kWriteReference
              : *mode == "profile" ? TrialRequest::Mode::kProfile
                                   : TrialRequest::Mode::kCheckAndTime;
    write_file_atomically(*result, compiler().run_trial(*r) + "\n");
  });
}

}  // namespace

void add_tune_command(CLI::App& app) {
  auto f = std::make_shared<TuneFlags>();
  TuneOptions& o = f->options;
  CLI::App* cmd = app.add_subcommand("tune", "Search for a faster schedule of a graph's training step");
  cmd->add_option("GRAPH", o.graph, "graph file (YAML)");
  cmd->add_option("--target", o.target, "host (default) or cuda")->check(CLI::IsMember({"host", "cuda"}));
  cmd->add_option("--budget", o.budget_s, "seconds the search may take (default 600)")
      ->check(CLI::Range(1.0, 7 * 24 * 3600.0));
  cmd->add_option("--log", o.log, "tuning log, JSON Lines; resumed if it exists (default: GRAPHNAME.tune.jsonl)");
  cmd->add_option("-o,--out", o.out,
                  "the schedule found (default: GRAPHNAME.schedule.yaml); with --report, the SVG file");
  cmd->add_option("--start,--schedule", o.start,
                  "schedule to start from, as netc train takes it (default: the target's default schedule)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--threads", o.threads, "CPU threads the schedules run with (default: every core)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--batch-size", o.batch, "images per batch (default: the graph's)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  cmd->add_option("--trials", o.max_trials, "stop after this many trials, those in the log included")
      ->check(CLI::Range(1, 1000000));
  cmd->add_flag("--json", o.json, "print the result as one JSON object (the progress goes to stderr)");
  cmd->add_option("--report", f->report, "draw the tuning log LOG as an SVG picture (with -o FILE.svg)");
  cmd->callback([f] { run_tune(*f); });
  add_trial_command(app);
}

}  // namespace netc

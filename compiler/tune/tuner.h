// `netc tune GRAPH`: a search for a faster schedule of a graph's training
// step (docs/tuning.md). From a start schedule (by default the one netc train
// uses, the target's default) it profiles the training step, tries the
// whole-pipeline variants, then the variants of one stage at a time, the most
// expensive stages first, keeping whatever is faster than the best so far,
// until the time budget is spent. Every variant is checked against the
// reference schedule (all at root) before it is timed; every trial goes to a
// resumable log. At the end the best candidate and the start are timed in
// alternation, and the candidate is written only if it is faster beyond the
// noise of those rounds; otherwise the start is written unchanged.
#pragma once

#include <csignal>
#include <cstdint>
#include <string>

#include "front/graph.h"

namespace netc {

struct TuneOptions {
  std::string graph;             // graph file (trials, in processes of their own, read it again)
  std::string target = "host";
  double budget_s = 600;         // wall time of the whole search
  std::string log;               // tuning log (JSON Lines); empty: <graph name>.tune.jsonl
  std::string out;               // the schedule found; empty: <graph name>.schedule.yaml
  std::string start;             // the start schedule file; empty: the target's built-in default
  int threads = 0;               // 0: every core
  int64_t batch = 0;             // 0: the graph's
  int max_trials = 0;            // 0: as many as the budget allows; trials found in the log count
  bool json = false;             // the progress on stderr, one JSON object with the result on stdout
  // The search stops (killing the running trial, removing its folders,
  // writing nothing) and tune() throws as soon as this becomes nonzero.
  const volatile std::sig_atomic_t* stop = nullptr;
};

// Runs the search on `graph`, read from options.graph, printing each trial
// and a table of the best trials per stage, and writes the schedule found (or
// the start, unchanged) to `out` (atomically). Bad input (start schedule, a
// log of another run) is an InputError.
void tune(const Graph& graph, const TuneOptions& options);

}  // namespace netc

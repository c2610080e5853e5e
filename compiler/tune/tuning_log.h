// The tuning log of `netc tune` (docs/tuning.md): JSON Lines, one record per
// finished trial or stage profile, appended and synced as soon as it is
// known, so that an interrupted run loses no finished trial and a rerun with
// the same log repeats none (trials are keyed by their schedule's text).
//
// Every record carries what its times depend on (the identity). A log whose
// records were made for another graph, batch, target, thread count, machine,
// Halide or netc build is refused, never reused silently.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace netc {

struct TuningIdentity {
  std::string graph;        // its name, for people
  std::string graph_hash;   // graph_fingerprint()
  std::string target;
  int64_t batch = 0;
  int threads = 0;
  std::string machine;      // CPU model
  int cores = 0;
  std::string halide;       // Halide's version
  std::string netc;         // netc's version
  std::string netc_build;   // fingerprint of the netc binary

  // This process's machine, Halide and netc, for the rest as given.
  static TuningIdentity of_this_run(const std::string& graph, const std::string& graph_hash,
                                    const std::string& target, int64_t batch, int threads);
};

struct Trial {
  std::string stage;          // the stage varied: "start", "pipeline" or a stage name
  std::string variant;        // what was tried, e.g. "channel_tiles x_tile=7"
  std::string schedule;       // the schedule file's text
  std::string schedule_hash;  // of the text: the key of the trial
  bool correct = false;       // agrees with the reference schedule (and compiled)
  double train_step_ms = 0;   // median; 0 when not timed (not correct)
  std::string baseline_hash;  // the schedule timed alternately with it (the best so far), if any
  double baseline_ms = 0;     // that schedule's median in the same runs
  double max_relative_error = 0;
  std::string error;          // why it is not correct
  double seconds = 0;         // the trial's wall time (compiling, checking, timing)
};

struct StageProfile {
  std::string schedule_hash;
  std::vector<std::pair<std::string, double>> stages;  // stage (as profiled) and ms per step, longest first
};

// How a search ended: the best candidate and the start timed in alternation,
// and what was written. One measurement of one schedule against the start:
// what netc tune prints, the schedule file's header and the report all say.
struct TuningResult {
  std::string start;              // the start schedule as named ("schedules/cpu/default.yaml (built in)")
  std::string candidate;          // the best candidate's variant; empty when no schedule but the start was correct
  double start_ms = 0;            // the start's median in the alternate rounds
  double candidate_ms = 0;        // the candidate's median in the same rounds
  std::vector<double> start_rounds_ms, candidate_rounds_ms;
  bool found = false;             // the candidate was faster beyond the noise and written
  double best_ms = 0;             // the schedule written: candidate_ms if found, else start_ms
  std::string schedule;           // the file written
  int trials = 0;
  double speedup() const { return start_ms / best_ms; }
};

// Its fields as `netc tune --json` prints them and the log's "result" record holds them.
nlohmann::json to_json(const TuningResult& r);

// The hash that keys a schedule's trial.
std::string schedule_hash(const std::string& schedule_text);

class TuningLog {
 public:
  // Opens `path`, creating it if missing. Every record in it must be of
  // `identity`, else InputError naming the first field that differs. A last
  // line cut short by an interruption is dropped.
  TuningLog(std::string path, TuningIdentity identity);

  const Trial* trial(const std::string& schedule_hash) const;
  const StageProfile* profile(const std::string& schedule_hash) const;
  size_t trial_count() const { return trials_.size(); }

  // Appends the record and syncs it to disk before returning.
  void append(const Trial& t);
  void append(const StageProfile& p);
  void append(const TuningResult& r);

  const std::string& path() const { return path_; }

 private:
  void read_existing();
  void append_line(const nlohmann::json& record);
  nlohmann::json identity_json() const;

  std::string path_;
  TuningIdentity identity_;
  std::map<std::string, Trial> trials_;
  std::map<std::string, StageProfile> profiles_;
};

// The trials of a log file in order, with the identity of its first record
// and the result of the last search that finished, for reports; InputError
// if it is not a tuning log.
struct TuningRecords {
  nlohmann::json identity;
  std::vector<Trial> trials;
  std::optional<TuningResult> result;
};
TuningRecords read_tuning_log(const std::string& path);

}  // namespace netc

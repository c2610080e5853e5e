#include "tune/tuner.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "Halide.h"
#include "aot/build.h"
#include "atomic_file.h"
#include "compile_cache.h"
#include "schedule/schedule_writer.h"
#include "schedule/variants.h"
#include "step_timing.h"
#include "tune/trial.h"
#include "tune/tuning_log.h"

namespace fs = std::filesystem;

namespace netc {
namespace {

using Clock = std::chrono::steady_clock;

// A variant is kept only if it beats the best so far by this fraction: less
// is within the noise of timing on a busy machine.
constexpr double kMinGain = 0.02;
// Stages below this share of the profiled step are not worth a compile.
constexpr double kMinStageShare = 0.01;
// Stages tuned between two profiles of the best schedule so far.
constexpr size_t kStagesPerRound = 3;
// A trial that takes longer than this is a failed trial. An autoscheduler
// gets at most a tenth of the budget: on Model A, Adams2019 (beam 1) took
// over 180 s on a busy machine, which is most of a short search.
constexpr double kTrialLimitS = 600;
constexpr double kAutoschedulerLimitS = 180;
constexpr double kAutoschedulerBudgetShare = 0.1;
// The closing comparison of the best candidate with the start: about this
// long, in at least this many rounds of one step each.
constexpr double kClosingSeconds = 3;
constexpr int kClosingRounds = 7;

// The search stops here: the budget or the trial count is spent.
struct SearchOver {};

// The search's own folder: the schedules its trials compile, the reference
// outputs, and the compile cache of its trials (with their staging folders).
// Removed when the search ends, however it ends; a folder left by a search
// whose process was killed outright is removed by the next search.
class WorkFolder {
 public:
  explicit WorkFolder(const std::string& graph) {
    const fs::path root = fs::path(cache_root()) / "tune";
    fs::create_directories(root);
    remove_abandoned(root);
    path_ = (root / fmt::format("{}-{}", graph, getpid())).string();
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~WorkFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  WorkFolder(const WorkFolder&) = delete;
  WorkFolder& operator=(const WorkFolder&) = delete;
  const std::string& path() const { return path_; }

 private:
  static void remove_abandoned(const fs::path& root) {
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(root, ec)) {
      const std::string name = e.path().filename().string();
      const size_t dash = name.rfind('-');
      if (dash == std::string::npos || !e.is_directory(ec)) continue;
      pid_t pid = 0;
      const char* digits = name.data() + dash + 1;
      const auto [end, error] = std::from_chars(digits, name.data() + name.size(), pid);
      if (error != std::errc() || end != name.data() + name.size() || pid <= 0) continue;
      if (kill(pid, 0) != 0 && errno == ESRCH) fs::remove_all(e.path(), ec);
    }
  }
  std::string path_;
};

// A schedule that was tried, with its trial.
struct Tried {
  ScheduleFile file;
  std::string stage, label, text;
  Trial trial;
  bool from_log = false;
  // Its speed relative to the start, chained through the bases it was timed
  // alternately with (start -> each kept base -> it), not its time over the
  // start's first reading, which a busy moment can inflate.
  double vs_start = 1.0;
};

// The stage a profiled Func belongs to: itself, the stage a recipe made a
// copy for ("relu2.grad_input_in_cnn2.grad_weight" is cnn2.grad_weight's),
// or the stage it wraps ("cnn1.forward_global_wrapper") or sums the partial
// results of ("cnn2.grad_weight_intm", an rfactor); empty if none.
std::string owning_stage(const std::string& func, const std::set<std::string>& stages) {
  if (stages.count(func)) return func;
  const std::string partial = "_intm";
  if (func.size() > partial.size() && func.compare(func.size() - partial.size(), partial.size(), partial) == 0)
    return owning_stage(func.substr(0, func.size() - partial.size()), stages);
  size_t in = func.rfind("_in_");
  if (in != std::string::npos && stages.count(func.substr(in + 4))) return func.substr(in + 4);
  std::string owner;
  for (const std::string& s : stages)
    if (func.rfind(s, 0) == 0 && s.size() > owner.size()) owner = s;
  return owner;
}

std::string shortened(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(0, n - 3) + "..."; }

class Tuner {
 public:
  Tuner(const Graph& graph, const TuneOptions& o)
      : options_(o),
        started_(Clock::now()),
        graph_(graph),
        batch_(o.batch ? o.batch : graph_.train.batch_size),
        threads_(o.threads ? o.threads : int(std::max(1u, std::thread::hardware_concurrency()))),
        target_(target_for(o.target)),
        variants_(graph_, batch_, target_, threads_),
        identity_(TuningIdentity::of_this_run(graph_.name, graph_fingerprint(graph_), o.target, batch_, threads_)),
        log_(o.log.empty() ? graph_.name + ".tune.jsonl" : o.log, identity_),
        out_(o.out.empty() ? graph_.name + ".schedule.yaml" : o.out),
        progress_(o.json ? stderr : stdout),
        folder_(graph_.name),
        work_(folder_.path()) {}

  void run() {
    ScheduleFile start = start_schedule();
    variants_.stages(start);  // a start schedule for another target fails here, before any compile
    say("netc tune: {}, batch {}, {} thread{}, target {}, budget {:.0f} s; start {}; log {} ({} trials so far)\n",
        graph_.name, batch_, threads_, threads_ == 1 ? "" : "s", options_.target, options_.budget_s, start_label(),
        log_.path(), log_.trial_count());
    try {
      write_reference_outputs();
      Tried first = attempt("start", start_label(), start);
      if (!first.trial.correct)
        throw InputError(fmt::format("the start schedule {} cannot be tuned: {}", start_label(), first.trial.error));
      start_ = base_ = first;
      tune_stages();
    } catch (const SearchOver&) {
      say("{}\n", trials_ >= options_.max_trials && options_.max_trials ? "trial limit reached" : "budget spent");
    }
    finish();
  }

 private:
  // The schedule netc train uses unless told otherwise, or --start.
  ScheduleFile start_schedule() const {
    return options_.start.empty() ? default_schedule(options_.target) : load_schedule(options_.start);
  }
  std::string start_label() const {
    return options_.start.empty() ? default_schedule(options_.target).path + " (built in)" : options_.start;
  }
  // The start's text as given, comments and all: what is written when
  // nothing faster is found.
  std::string start_text() const {
    return options_.start.empty() ? default_schedule_text(options_.target) : read_file(options_.start, 1 << 24);
  }

  template <typename... Args>
  void say(fmt::format_string<Args...> format, Args&&... args) const {
    std::fputs(fmt::format(format, std::forward<Args>(args)...).c_str(), progress_);
    std::fflush(progress_);
  }

  double autoscheduler_limit_s() const {
    return std::min(kAutoschedulerLimitS, kAutoschedulerBudgetShare * options_.budget_s);
  }

  bool stop_requested() const { return options_.stop && *options_.stop; }

  double elapsed_s() const { return std::chrono::duration<double>(Clock::now() - started_).count(); }
  // What the search may still spend: the budget less the time the closing
  // comparison of the best schedule with the start will take.
  double remaining_s() const { return options_.budget_s - elapsed_s() - closing_s(); }
  double closing_s() const {
    if (!start_ || !base_) return 0;
    return 5 + std::max(kClosingSeconds, (kClosingRounds + 3) * (start_->trial.train_step_ms + base_->trial.train_step_ms) / 1000);
  }

  // The schedule as a file the trial process compiles.
  std::string schedule_path(const std::string& text) const {
    std::string path = fmt::format("{}/{}-{}.yaml", work_, graph_.name, schedule_hash(text));
    if (!fs::exists(path)) write_file_atomically(path, text);
    return path;
  }

  TrialRequest request(TrialRequest::Mode mode, const std::string& text) const {
    TrialRequest r;
    r.mode = mode;
    r.graph = options_.graph;
    r.schedule = schedule_path(text);
    if (mode == TrialRequest::Mode::kCheckAndTime && base_) r.baseline = schedule_path(base_->text);
    r.reference = fmt::format("{}/{}-{}-b{}-{}-reference.safetensors", work_, graph_.name, identity_.graph_hash,
                              batch_, options_.target);
    r.target = options_.target;
    r.batch = batch_;
    r.threads = threads_;
    r.cache_dir = work_ + "/cache";
    r.stop = options_.stop;
    return r;
  }

  // Ends the search at once, writing nothing, when a signal asked for it.
  void check_stop() const {
    if (stop_requested())
      throw std::runtime_error(fmt::format("netc tune was stopped; nothing written; the log {} keeps the {} finished "
                                           "trials",
                                           log_.path(), log_.trial_count()));
  }

  // Runs a trial process within the budget and `trial_limit`; ends the
  // search when the budget ran out first (nothing was learned about the schedule).
  TrialResult run_process(const TrialRequest& r, double trial_limit = kTrialLimitS) {
    check_stop();
    if (remaining_s() <= 0) throw SearchOver{};
    double limit = std::min(remaining_s(), trial_limit);
    TrialResult result = run_trial_process(r, limit);
    check_stop();
    if (result.out_of_time && limit < trial_limit) throw SearchOver{};
    if (result.out_of_time) result.error = fmt::format("took longer than {:.0f} s", trial_limit);
    return result;
  }

  void write_reference_outputs() {
    TrialResult r = run_process(request(TrialRequest::Mode::kWriteReference,
                                         write_schedule(reference_schedule(options_.target))));
    if (!r.correct) throw std::runtime_error("the reference schedule does not run: " + r.error);
  }

  // The trial of `file`: from the log if it was tried before, else run now;
  // ends the search when the budget or --trials is spent.
  Tried attempt(const std::string& stage, const std::string& label, const ScheduleFile& file) {
    Tried t{file, stage, label, write_schedule(file), {}, false};
    const std::string hash = schedule_hash(t.text);
    if (auto seen = tried_.find(hash); seen != tried_.end()) return seen->second;  // once per run
    if (options_.max_trials && trials_ >= options_.max_trials) throw SearchOver{};
    if (const Trial* logged = log_.trial(hash)) {
      t.trial = *logged;
      t.from_log = true;
    } else {
      auto begin = Clock::now();
      TrialResult r = run_process(request(TrialRequest::Mode::kCheckAndTime, t.text),
                                  file.autoscheduler ? autoscheduler_limit_s() : kTrialLimitS);
      t.trial = {stage,
                 label,
                 t.text,
                 hash,
                 r.correct,
                 r.train_step_ms,
                 base_ && r.baseline_ms > 0 ? schedule_hash(base_->text) : "",
                 r.baseline_ms,
                 r.max_relative_error,
                 r.error,
                 std::chrono::duration<double>(Clock::now() - begin).count()};
      log_.append(t.trial);
    }
    if (t.trial.correct && base_ && t.text != base_->text) t.vs_start = base_->vs_start / relative_to_base(t);
    ++trials_;
    tried_[hash] = t;
    order_.push_back(hash);
    report(t);
    return t;
  }

  void report(const Tried& t) const {
    std::string result = t.trial.correct ? fmt::format("{:9.2f} ms {:6.2f}x", t.trial.train_step_ms, t.vs_start)
                                         : "  " + shortened(t.trial.error.empty() ? "failed" : t.trial.error, 200);
    if (t.trial.correct && base_ && t.text != base_->text)
      result += fmt::format("  {:.2f} of the best so far", relative_to_base(t));
    say("{:4} {:5.0f} s {} {:<22} {:<46} {}\n", trials_, elapsed_s(), t.from_log ? "log" : "ran",
        shortened(t.stage, 22), shortened(t.label, 46), result);
  }

  // A correct trial's time over the base's: from the same runs when the
  // base was timed with it, else from their own trials.
  double relative_to_base(const Tried& t) const {
    if (t.trial.baseline_ms > 0 && t.trial.baseline_hash == schedule_hash(base_->text))
      return t.trial.train_step_ms / t.trial.baseline_ms;
    return t.trial.train_step_ms / base_->trial.train_step_ms;
  }

  // The fastest correct one of `tried`, if it beats the base: the new base.
  void keep_best(const std::string& stage, const std::vector<Tried>& tried) {
    const Tried* best = nullptr;
    for (const Tried& t : tried)
      if (t.trial.correct && (!best || relative_to_base(t) < relative_to_base(*best))) best = &t;
    if (!best || relative_to_base(*best) >= 1 - kMinGain) return;
    say("     kept for {}: {}, {:.2f} ms in its trial ({:.2f} of the best so far)\n", stage, best->label,
        best->trial.train_step_ms, relative_to_base(*best));
    base_ = *best;
    kept_[stage] = best->label;
  }

  void try_pipeline_variants() {
    std::vector<Tried> rule_based;
    for (const Variant& v : variants_.pipeline_variants(base_->file)) {
      Tried t = attempt(v.stage, v.label, v.file);
      if (v.file.autoscheduler) {
        if (t.trial.correct && (!autoscheduled_ || t.trial.train_step_ms < autoscheduled_->trial.train_step_ms))
          autoscheduled_ = t;
      } else {
        rule_based.push_back(t);
      }
    }
    keep_best("pipeline", rule_based);
  }

  // Where the base schedule's training step spends its time, by stage, from
  // a profiled build (or the log).
  std::vector<std::pair<std::string, double>> stage_times() {
    const std::string hash = schedule_hash(base_->text);
    const StageProfile* p = log_.profile(hash);
    if (!p) {
      TrialResult r = run_process(request(TrialRequest::Mode::kProfile, base_->text));
      if (!r.correct) throw std::runtime_error("cannot profile the best schedule so far: " + r.error);
      log_.append(StageProfile{hash, r.stages});
      p = log_.profile(hash);
    }
    std::vector<StageInfo> stages = variants_.stages(base_->file);
    std::set<std::string> names;
    for (const StageInfo& s : stages) names.insert(s.name);
    std::map<std::string, double> by_stage;
    for (const auto& [func, ms] : p->stages)
      if (std::string owner = owning_stage(func, names); !owner.empty()) by_stage[owner] += ms;
    // A step too short for the profiler to see: every stage alike, in pipeline order.
    if (by_stage.empty())
      for (const StageInfo& s : stages) by_stage[s.name] = 1;
    std::vector<std::pair<std::string, double>> ranked;
    for (const StageInfo& s : stages)
      if (by_stage.count(s.name)) ranked.emplace_back(s.name, by_stage[s.name]);
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    return ranked;
  }

  // Rounds of a few stages each, the most expensive untuned ones by the
  // latest profile; when none is left, another pass over all of them if the
  // last pass found something. Each round starts with the whole-pipeline
  // variants of the best so far: once the expensive stages have rules of
  // their own, one trial may move all the others at once.
  void tune_stages() {
    std::set<std::string> tuned;
    bool improved_in_pass = false;
    while (true) {
      const std::string before_pipeline = base_->text;
      try_pipeline_variants();
      improved_in_pass |= base_->text != before_pipeline;
      std::vector<std::pair<std::string, double>> ranked = stage_times();
      double total = 0;
      for (const auto& [name, ms] : ranked) total += ms;
      std::vector<std::string> round;
      for (const auto& [name, ms] : ranked)
        if (!tuned.count(name) && ms >= kMinStageShare * total && round.size() < kStagesPerRound) round.push_back(name);
      if (round.empty()) {
        if (!improved_in_pass) return;
        tuned.clear();
        improved_in_pass = false;
        say("     another pass over the stages\n");
        continue;
      }
      std::string top;
      for (size_t k = 0; k < ranked.size() && k < 5; ++k)
        top += fmt::format("{}{} {:.0f}%", k ? ", " : "", ranked[k].first, 100 * ranked[k].second / total);
      say("     profile of the best so far: {}\n", top);
      for (const std::string& name : round) {
        tuned.insert(name);
        const std::string before = base_->text;
        tune_stage(name);
        improved_in_pass |= base_->text != before;
      }
    }
  }

  void tune_stage(const std::string& name) {
    std::vector<StageInfo> stages = variants_.stages(base_->file);
    auto stage = std::find_if(stages.begin(), stages.end(), [&](const StageInfo& s) { return s.name == name; });
    if (stage == stages.end()) return;
    std::vector<Tried> tried;
    try {
      for (const Variant& v : variants_.stage_variants(base_->file, *stage))
        tried.push_back(attempt(v.stage, v.label, v.file));
    } catch (const SearchOver&) {
      keep_best(name, tried);  // what the budget allowed still counts
      throw;
    }
    keep_best(name, tried);
  }

  // The best candidate timed once more, alternately with the start, in
  // rounds of one step each: their medians and every round. Only a
  // candidate whose middle half of rounds lies wholly below the start's (its
  // third quartile under the start's first) counts as faster: one that is
  // not is within the noise of this machine, and the start is kept.
  TuningResult closing(const Tried& best) {
    TuningResult r;
    r.start = start_label();
    r.start_ms = r.best_ms = start_->trial.train_step_ms;
    if (best.text == start_->text) return retimed_start(r);
    r.candidate = best.label;
    TrialResult timed = closing_timing(best.text, schedule_path(start_->text));
    if (!timed.correct || timed.rounds_ms.empty()) {
      say("the closing comparison of the best candidate with the start failed ({}); keeping the start\n", timed.error);
      return r;
    }
    r.start_ms = timed.baseline_ms;
    r.candidate_ms = timed.train_step_ms;
    r.start_rounds_ms = timed.baseline_rounds_ms;
    r.candidate_rounds_ms = timed.rounds_ms;
    const RoundSpread start = spread_of(r.start_rounds_ms), candidate = spread_of(r.candidate_rounds_ms);
    r.found = faster_beyond_noise(candidate, start);
    r.best_ms = r.found ? r.candidate_ms : r.start_ms;
    say("\nthe best candidate ({}) and the start timed alternately, {} rounds each (median, middle half, all):\n"
        "  start      {:8.2f} ms  {:.2f}-{:.2f}  {:.2f}-{:.2f}\n"
        "  candidate  {:8.2f} ms  {:.2f}-{:.2f}  {:.2f}-{:.2f}\n",
        shortened(best.label, 60), r.start_rounds_ms.size(), start.median, start.low, start.high, start.min, start.max,
        candidate.median, candidate.low, candidate.high, candidate.min, candidate.max);
    return r;
  }

  // The schedule `text` timed for the closing, alternately with `baseline`
  // (a schedule file) if one is given: about kClosingSeconds, at least
  // kClosingRounds rounds. Past the budget if need be: nothing is written
  // unconfirmed.
  TrialResult closing_timing(const std::string& text, const std::string& baseline) {
    TrialRequest timing = request(TrialRequest::Mode::kCheckAndTime, text);
    timing.baseline = baseline;
    timing.timing_s = kClosingSeconds;
    timing.min_rounds = kClosingRounds;
    TrialResult timed = run_trial_process(timing, std::max(remaining_s(), 0.0) + closing_s() + 120);
    check_stop();
    return timed;
  }

  // Without a candidate, the start alone timed again as a candidate would
  // be: its first trial is one reading, which a busy moment of the machine
  // had made 19% slower than every later trial of the same schedule.
  TuningResult retimed_start(TuningResult r) {
    TrialResult timed = closing_timing(start_->text, "");
    if (!timed.correct || timed.rounds_ms.empty()) return r;  // the first reading stands
    r.start_ms = r.best_ms = timed.train_step_ms;
    r.start_rounds_ms = timed.rounds_ms;
    const RoundSpread start = spread_of(r.start_rounds_ms);
    say("\nthe start timed again, {} rounds (median, middle half, all): {:.2f} ms  {:.2f}-{:.2f}  {:.2f}-{:.2f}\n",
        r.start_rounds_ms.size(), start.median, start.low, start.high, start.min, start.max);
    return r;
  }

  // The header of the schedule file written: the closing measurement.
  std::string header(const TuningResult& r) const {
    std::string what =
        r.found ? fmt::format("# Found by `netc tune` for {} (batch {}, {} thread{}, target {}, {}):\n", graph_.name,
                              batch_, threads_, threads_ == 1 ? "" : "s", options_.target, identity_.machine)
                : fmt::format("# `netc tune` found no schedule faster than this start schedule for {} (batch {}, {} "
                              "thread{}, target {}, {}); it is written unchanged below.\n",
                              graph_.name, batch_, threads_, threads_ == 1 ? "" : "s", options_.target,
                              identity_.machine);
    return what + fmt::format("# {:.2f}x the speed of the start schedule {}: {:.2f} ms against {:.2f} ms per training "
                              "step{}.\n# Tuning log: {}\n",
                              r.speedup(), r.start, r.best_ms, r.start_ms,
                              r.start_rounds_ms.empty() ? ""
                              : r.found ? fmt::format(" (medians of {} rounds each, timed alternately)",
                                                      r.start_rounds_ms.size())
                                        : fmt::format(" (median of {} rounds)", r.start_rounds_ms.size()),
                              log_.path());
  }

  void finish() {
    if (!start_)
      throw std::runtime_error(fmt::format("the budget of {:.0f} s ended before the start schedule was timed; nothing "
                                           "was written",
                                           options_.budget_s));
    const Tried& best = autoscheduled_ && autoscheduled_->trial.train_step_ms < base_->trial.train_step_ms
                            ? *autoscheduled_
                            : *base_;
    print_table(best);
    int from_log = 0, failed = 0;
    for (const std::string& h : order_) {
      from_log += tried_.at(h).from_log;
      failed += !tried_.at(h).trial.correct;
    }
    TuningResult result = closing(best);
    result.schedule = out_;
    result.trials = trials_;
    write_file_atomically(out_, header(result) + (result.found ? best.text : start_text()));
    log_.append(result);
    if (result.found)
      say("faster beyond the noise: {:.2f} ms against {:.2f} ms per training step, {:.2f}x the start's speed\n",
          result.best_ms, result.start_ms, result.speedup());
    else
      say("no faster schedule found: the start {} is written unchanged ({:.2f} ms per training step)\n", result.start,
          result.start_ms);
    say("{} trials ({} resumed from the log, {} incorrect or failed) in {:.0f} s; wrote {}\n", trials_, from_log,
        failed, elapsed_s(), out_);
    if (options_.json) std::printf("%s\n", to_json(result).dump().c_str());
  }

  // The best trial of each stage varied, in the order they were first tried:
  // the fastest relative to the start as timed alternately with its base
  // (vs_start), not by its own time, which a busy moment inflates.
  void print_table(const Tried& best) const {
    std::vector<std::string> stages;
    std::map<std::string, std::vector<const Tried*>> by_stage;
    for (const std::string& h : order_) {
      const Tried& t = tried_.at(h);
      if (!by_stage.count(t.stage)) stages.push_back(t.stage);
      by_stage[t.stage].push_back(&t);
    }
    const bool autoscheduled = best.file.autoscheduler.has_value();
    say("\n{:<22} {:>6} {:>6}  {:<46} {:>10} {:>8}  {}\n", "stage", "trials", "failed", "fastest trial", "ms",
        "vs start", "kept");
    for (const std::string& s : stages) {
      const Tried* top = nullptr;
      int failed = 0;
      for (const Tried* t : by_stage[s]) {
        failed += !t->trial.correct;
        if (t->trial.correct && (!top || t->vs_start > top->vs_start)) top = t;
      }
      std::string in_result;
      if (autoscheduled && top && top->text == best.text) in_result = top->label;
      if (!autoscheduled && kept_.count(s)) in_result = kept_.at(s);
      if (!autoscheduled && s == "start") in_result = "(start)";
      say("{:<22} {:>6} {:>6}  {:<46} {:>10} {:>8}  {}\n", shortened(s, 22), by_stage[s].size(), failed,
          top ? shortened(top->label, 46) : "-", top ? fmt::format("{:.2f}", top->trial.train_step_ms) : "-",
          top ? fmt::format("{:.2f}x", top->vs_start) : "-", in_result);
    }
  }

  const TuneOptions options_;
  const Clock::time_point started_;
  const Graph graph_;
  const int64_t batch_;
  const int threads_;
  const Halide::Target target_;
  const ScheduleVariants variants_;
  const TuningIdentity identity_;
  TuningLog log_;
  const std::string out_;
  FILE* const progress_;  // stdout, or stderr when stdout gets the JSON result
  const WorkFolder folder_;
  const std::string work_;

  int trials_ = 0;
  std::map<std::string, Tried> tried_;  // by schedule hash
  std::vector<std::string> order_;      // hashes in the order tried
  std::optional<Tried> start_, base_, autoscheduled_;
  std::map<std::string, std::string> kept_;  // stage -> the variant kept for it
};

}  // namespace

void tune(const Graph& graph, const TuneOptions& options) { Tuner(graph, options).run(); }

}  // namespace netc

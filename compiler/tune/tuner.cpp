#include "tune/tuner.h"

#include <algorithm>
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
#include "schedule/schedule_writer.h"
#include "schedule/variants.h"
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
// A trial that takes longer than this is a failed trial.
constexpr double kTrialLimitS = 600;

// The search stops here: the budget or the trial count is spent.
struct SearchOver {};

// A schedule that was tried, with its trial.
struct Tried {
  ScheduleFile file;
  std::string stage, label, text;
  Trial trial;
  bool from_log = false;
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
        work_(cache_root() + "/tune") {}

  void run() {
    ScheduleFile start = start_schedule();
    variants_.stages(start);  // a start schedule for another target fails here, before any compile
    std::printf("netc tune: %s, batch %lld, %d thread%s, target %s, budget %.0f s; log %s (%zu trials so far)\n",
                graph_.name.c_str(), (long long)batch_, threads_, threads_ == 1 ? "" : "s", options_.target.c_str(),
                options_.budget_s, log_.path().c_str(), log_.trial_count());
    fs::create_directories(work_);
    try {
      write_reference_outputs();
      Tried first = attempt("start", start_label(), start);
      if (!first.trial.correct)
        throw InputError(fmt::format("the start schedule {} cannot be tuned: {}", start_label(), first.trial.error));
      start_ = base_ = first;
      tune_stages();
    } catch (const SearchOver&) {
      std::printf("%s\n", trials_ >= options_.max_trials && options_.max_trials ? "trial limit reached"
                                                                                 : "budget spent");
    }
    finish();
  }

 private:
  ScheduleFile start_schedule() const {
    return options_.start.empty() ? reference_schedule(options_.target) : load_schedule(options_.start);
  }
  std::string start_label() const {
    return options_.start.empty() ? "schedules/cpu/root.yaml (built in)" : options_.start;
  }

  double elapsed_s() const { return std::chrono::duration<double>(Clock::now() - started_).count(); }
  // What the search may still spend: the budget less the time the closing
  // comparison of the best schedule with the start will take.
  double remaining_s() const { return options_.budget_s - elapsed_s() - closing_s(); }
  double closing_s() const {
    if (!start_ || !base_) return 0;
    return 3 + 6 * (start_->trial.train_step_ms + base_->trial.train_step_ms) / 1000;
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
    return r;
  }

  // Runs a trial process within the budget; ends the search when the budget
  // ran out first (nothing was learned about the schedule).
  TrialResult run_process(const TrialRequest& r) {
    if (remaining_s() <= 0) throw SearchOver{};
    double limit = std::min(remaining_s(), kTrialLimitS);
    TrialResult result = run_trial_process(r, limit);
    if (result.out_of_time && limit < kTrialLimitS) throw SearchOver{};
    if (result.out_of_time) result.error = fmt::format("took longer than {:.0f} s", kTrialLimitS);
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
      TrialResult r = run_process(request(TrialRequest::Mode::kCheckAndTime, t.text));
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
    ++trials_;
    tried_[hash] = t;
    order_.push_back(hash);
    report(t);
    return t;
  }

  void report(const Tried& t) const {
    std::string result = t.trial.correct ? fmt::format("{:9.2f} ms {:6.2f}x", t.trial.train_step_ms, speedup(t.trial))
                                         : "  " + shortened(t.trial.error.empty() ? "failed" : t.trial.error, 200);
    if (t.trial.correct && base_ && t.text != base_->text)
      result += fmt::format("  {:.2f} of the best so far", relative_to_base(t));
    std::printf("%4d %5.0f s %s %-22s %-46s %s\n", trials_, elapsed_s(), t.from_log ? "log" : "ran",
                shortened(t.stage, 22).c_str(), shortened(t.label, 46).c_str(), result.c_str());
    std::fflush(stdout);
  }

  double speedup(const Trial& t) const {
    return start_ && t.train_step_ms > 0 ? start_->trial.train_step_ms / t.train_step_ms : 1.0;
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
    base_ = *best;
    kept_[stage] = best->label;
    std::printf("     kept for %s: %s, %.2f ms (%.2fx the start)\n", stage.c_str(), best->label.c_str(),
                best->trial.train_step_ms, speedup(best->trial));
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
        std::printf("     another pass over the stages\n");
        continue;
      }
      std::printf("     profile of the best so far: ");
      for (size_t k = 0; k < ranked.size() && k < 5; ++k)
        std::printf("%s%s %.0f%%", k ? ", " : "", ranked[k].first.c_str(), 100 * ranked[k].second / total);
      std::printf("\n");
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
    for (const Variant& v : variants_.stage_variants(base_->file, *stage)) tried.push_back(attempt(v.stage, v.label, v.file));
    keep_best(name, tried);
  }

  // The best schedule timed once more, alternately with the start schedule,
  // so that the speedup does not depend on how busy the machine was when
  // each was first timed: the ratio of their medians, or 0 if there is no time.
  double closing_speedup(const Tried& best) {
    if (best.text == start_->text || options_.budget_s - elapsed_s() <= 0) return 0;
    TrialRequest r = request(TrialRequest::Mode::kCheckAndTime, best.text);
    r.baseline = schedule_path(start_->text);
    TrialResult result = run_trial_process(r, options_.budget_s - elapsed_s() + 1);
    if (!result.correct || result.baseline_ms <= 0) return 0;
    std::printf("best and start timed alternately: %.2f ms against %.2f ms, %.2fx faster\n", result.train_step_ms,
                result.baseline_ms, result.baseline_ms / result.train_step_ms);
    return result.baseline_ms / result.train_step_ms;
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
    std::printf("\nbest: %.2f ms per training step, %.2fx faster than the start (%.2f ms), as each was timed in its "
                "trial\n",
                best.trial.train_step_ms, speedup(best.trial), start_->trial.train_step_ms);
    const double confirmed = closing_speedup(best);
    std::string header = fmt::format(
        "# Found by `netc tune` for {} (batch {}, {} thread{}, target {}, {}):\n"
        "# {:.2f} ms per training step, {:.2f}x faster than the start schedule\n"
        "# {} ({:.2f} ms){}. Tuning log: {}\n",
        graph_.name, batch_, threads_, threads_ == 1 ? "" : "s", options_.target, identity_.machine,
        best.trial.train_step_ms, speedup(best.trial), start_label(), start_->trial.train_step_ms,
        confirmed > 0 ? fmt::format("; {:.2f}x timed alternately with it", confirmed) : "", log_.path());
    write_file_atomically(out_, header + best.text);
    std::printf("%d trials (%d resumed from the log, %d incorrect or failed) in %.0f s; wrote %s\n", trials_, from_log,
                failed, elapsed_s(), out_.c_str());
  }

  // The best trial of each stage varied, in the order they were first tried.
  void print_table(const Tried& best) const {
    std::vector<std::string> stages;
    std::map<std::string, std::vector<const Tried*>> by_stage;
    for (const std::string& h : order_) {
      const Tried& t = tried_.at(h);
      if (!by_stage.count(t.stage)) stages.push_back(t.stage);
      by_stage[t.stage].push_back(&t);
    }
    const bool autoscheduled = best.file.autoscheduler.has_value();
    std::printf("\n%-22s %6s %6s  %-46s %10s %8s  %s\n", "stage", "trials", "failed", "fastest variant", "ms",
                "speedup", "kept");
    for (const std::string& s : stages) {
      const Tried* top = nullptr;
      int failed = 0;
      for (const Tried* t : by_stage[s]) {
        failed += !t->trial.correct;
        if (t->trial.correct && (!top || t->trial.train_step_ms < top->trial.train_step_ms)) top = t;
      }
      std::string in_result;
      if (autoscheduled && top && top->text == best.text) in_result = top->label;
      if (!autoscheduled && kept_.count(s)) in_result = kept_.at(s);
      if (!autoscheduled && s == "start") in_result = "(start)";
      std::printf("%-22s %6zu %6d  %-46s %10s %8s  %s\n", shortened(s, 22).c_str(), by_stage[s].size(), failed,
                  top ? shortened(top->label, 46).c_str() : "-",
                  top ? fmt::format("{:.2f}", top->trial.train_step_ms).c_str() : "-",
                  top ? fmt::format("{:.2f}x", speedup(top->trial)).c_str() : "-", in_result.c_str());
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
  const std::string out_, work_;

  int trials_ = 0;
  std::map<std::string, Tried> tried_;  // by schedule hash
  std::vector<std::string> order_;      // hashes in the order tried
  std::optional<Tried> start_, base_, autoscheduled_;
  std::map<std::string, std::string> kept_;  // stage -> the variant kept for it
};

}  // namespace

void tune(const Graph& graph, const TuneOptions& options) { Tuner(graph, options).run(); }

}  // namespace netc

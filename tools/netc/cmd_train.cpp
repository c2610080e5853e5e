// netc train GRAPH [options]: trains the graph on its dataset, with
// checkpoints, resuming, and a clean stop on SIGINT or SIGTERM.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <optional>
#include <cstdio>
#include <thread>

#include <fmt/format.h>

#include "checkpoint.h"
#include "commands.h"
#include "cuda_driver.h"
#include "model_session.h"
#include "outputs.h"
#include "stop_signals.h"
#include "trainer.h"

namespace netc {
namespace {

struct TrainFlags {
  std::string graph, data, init, save, metrics, checkpoint, resume, save_best;
  std::optional<int64_t> iterations, batch_size, eval_every, checkpoint_every, validation;
  std::optional<uint64_t> seed;
  std::optional<double> lr, momentum;
  // Over the graph's train.lr_schedule.
  std::optional<std::string> lr_schedule;
  std::optional<int64_t> lr_step_size, lr_t_max, lr_warmup;
  std::optional<double> lr_gamma, lr_eta_min;
  std::vector<int64_t> lr_milestones;
  bool no_shuffle = false;
  PipelineOptions pipelines;
};

// The graph's train.lr_schedule with the --lr-* flags applied over it:
// --lr-schedule of another type starts a schedule of that type (keeping the
// warm-up), each setting's flag sets it, and each must be of the type.
LrSchedule lr_schedule(const Graph& g, const TrainFlags& f) {
  LrSchedule s = g.train.lr_schedule;
  using Type = LrSchedule::Type;
  if (f.lr_schedule) {
    Type type = Type::Constant;
    parse_lr_schedule_type(*f.lr_schedule, &type);  // the flag's check allows only the types
    if (type != s.type) s = LrSchedule{type, 0, {}, 0.1, 0, 0, s.warmup};
  }
  auto setting = [&](const char* flag, bool given, std::initializer_list<Type> types) {
    if (given && std::find(types.begin(), types.end(), s.type) == types.end())
      throw InputError(fmt::format("{} is not a setting of a {} learning-rate schedule (--lr-schedule sets the type)",
                                   flag, lr_schedule_type_name(s.type)));
    return given;
  };
  if (setting("--lr-step-size", f.lr_step_size.has_value(), {Type::Step})) s.step_size = *f.lr_step_size;
  if (setting("--lr-gamma", f.lr_gamma.has_value(), {Type::Step, Type::MultiStep})) s.gamma = *f.lr_gamma;
  if (setting("--lr-milestones", !f.lr_milestones.empty(), {Type::MultiStep})) {
    for (size_t k = 0; k < f.lr_milestones.size(); ++k)
      if (f.lr_milestones[k] < 1 || (k > 0 && f.lr_milestones[k] <= f.lr_milestones[k - 1]))
        throw InputError("--lr-milestones must be increasing steps >= 1, as 1000,2000");
    s.milestones = f.lr_milestones;
  }
  if (setting("--lr-t-max", f.lr_t_max.has_value(), {Type::Cosine})) s.t_max = *f.lr_t_max;
  if (setting("--lr-eta-min", f.lr_eta_min.has_value(), {Type::Cosine})) s.eta_min = *f.lr_eta_min;
  if (f.lr_warmup) s.warmup = *f.lr_warmup;
  const char* missing = s.type == Type::Step && s.step_size == 0          ? "--lr-step-size"
                        : s.type == Type::MultiStep && s.milestones.empty() ? "--lr-milestones"
                        : s.type == Type::Cosine && s.t_max == 0             ? "--lr-t-max"
                                                                             : nullptr;
  if (missing)
    throw InputError(fmt::format("a {} learning-rate schedule needs {}", lr_schedule_type_name(s.type), missing));
  return s;
}

// The graph's train section with the flags applied over it.
TrainOptions train_options(const Graph& g, const TrainFlags& f) {
  TrainOptions o;
  o.iterations = f.iterations.value_or(g.train.iterations);
  o.eval_every = f.eval_every.value_or(g.train.eval_every);
  o.shuffle = g.train.shuffle && !f.no_shuffle;
  o.seed = f.seed.value_or(g.train.seed);
  o.optimizer = g.train.optimizer;
  o.optimizer.lr = f.lr.value_or(o.optimizer.lr);
  if (f.momentum && o.optimizer.type != OptimizerType::Sgd)
    throw InputError(fmt::format("--momentum is a setting of SGD; the graph's optimizer is {}",
                                 optimizer_name(o.optimizer.type)));
  o.optimizer.momentum = f.momentum.value_or(o.optimizer.momentum);
  o.lr_schedule = lr_schedule(g, f);
  o.augment_shift = g.train.augment.shift;
  o.save_best_file = f.save_best;
  o.metrics_file = f.metrics;
  o.checkpoint_file = f.checkpoint;
  o.checkpoint_every = f.checkpoint_every.value_or(0);
  return o;
}

// A number that stays finite as the float32 the pipelines take, and is at
// least `min` (above it if `min_excluded`): NaN, Inf and 1e300 are refused.
CLI::Validator float32_at_least(double min, bool min_excluded) {
  const std::string bound = fmt::format("{} {}", min_excluded ? ">" : ">=", min);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        double v = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || end != text.data() + text.size() || text.empty())
          return fmt::format("'{}' is not a number", text);
        if (!std::isfinite(float(v))) return fmt::format("{} is not a finite float32 number", text);
        if (float(v) < min || (min_excluded && float(v) == float(min)))
          return fmt::format("{} is not a number {} (as a float32)", text, bound);
        return "";
      },
      "FLOAT " + bound);
}

// CLI11 reads "-1" into a uint64 as 2^64 - 1 and 2^64 as 2^64 - 1: refuse both.
CLI::Validator unsigned_64_bits() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        uint64_t v = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || end != text.data() + text.size() || text.empty())
          return fmt::format("'{}' is not an integer from 0 to 2^64 - 1", text);
        return "";
      },
      "UINT64");
}

RunIdentity identify_run(const Graph& graph, const CompiledModel& model, const Dataset& data,
                         const TrainOptions& options, const PipelineOptions& pipelines) {
  const Manifest& m = model.manifest();
  RunIdentity run;
  run.graph = graph.name;
  // Everything about the graph that decides what training computes: a
  // checkpoint of a graph whose layers changed since must not be continued.
  // (Not the train section: the settings a checkpoint must match are checked
  // one by one, with clearer messages.)
  run.graph_fingerprint = graph_fingerprint(graph);
  run.batch_size = m.batch * (options.world ? options.world->size() : 1);  // the global batch
  run.shuffle = options.shuffle;
  run.seed = options.seed;
  run.optimizer = options.optimizer;
  run.lr_schedule = options.lr_schedule;
  run.train_images = data.train_images.count;
  run.train_data_fingerprint = train_data_fingerprint(data);
  run.validation = data.validation_images.count;
  run.augment_shift = options.augment_shift;
  run.target = m.target;
  run.pipelines = m.library_sha256;
  run.threads = pipelines.threads ? pipelines.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  return run;
}

// The state to start from: a fresh one, or the checkpoint's of --resume.
// `init`: the parameters of --init, read before compiling.
TrainingState starting_state(const TrainFlags& f, const Manifest& m, const TrainOptions& options,
                             std::optional<Parameters> init) {
  if (f.resume.empty())
    return initial_state(init ? std::move(*init) : Parameters::initialize(m.params, options.seed), m.params,
                         m.update);
  std::vector<std::string> notes;
  TrainingState state = read_checkpoint(f.resume, options.run, m.params, &notes);
  for (const std::string& note : notes) std::fprintf(stderr, "netc: note: %s\n", note.c_str());
  if (state.step > options.iterations)
    throw InputError(fmt::format("{}: the checkpoint is at step {}, past --iterations {}", f.resume, state.step,
                                 options.iterations));
  std::fprintf(stderr, "netc: resuming from %s at step %lld\n", f.resume.c_str(), (long long)state.step);
  return state;
}

// The validation set: the last `count` training images (none for 0), refused
// (naming the key or flag that asked for it) unless a batch of training
// images is left.
void hold_out(Dataset& data, int64_t count, int64_t batch, const TrainFlags& f) {
  if (count == 0) return;
  const int64_t images = data.train_images.count;
  if (images - count < batch)
    throw InputError(fmt::format("{} is {}, which leaves {} of the {} training images, fewer than a batch of {}; "
                                 "it can be at most {}",
                                 f.validation ? "--validation" : "train.validation", count,
                                 std::max<int64_t>(images - count, 0), images, batch,
                                 std::max<int64_t>(images - batch, 0)));
  hold_out_validation(data, count);
}

// Data parallelism over the ranks of `world` (docs/distributed.md): each
// rank's model takes its slice of the batch and has the split step, threads
// default to the cores over the ranks on this host, and rank 0 alone writes
// files. Rank 0 compiles a model the cache lacks while the others wait, then
// they find it there.
std::unique_ptr<CompiledModel> load_data_parallel(const Graph& graph, PipelineOptions& pipelines,
                                                  TrainOptions& options, World& world) {
  if (world.size() > 1) {
    pipelines.batch_size /= world.size();
    pipelines.data_parallel = true;
    if (!pipelines.threads)
      pipelines.threads = int(std::max(1u, std::thread::hardware_concurrency() / unsigned(world.local_size())));
    options.world = &world;
  }
  if (world.rank() > 0) {
    options.metrics_file.clear();
    options.checkpoint_file.clear();
    options.save_best_file.clear();
    world.barrier();
  }
  std::unique_ptr<CompiledModel> model = load_pipelines(graph, pipelines);
  if (world.rank() == 0) world.barrier();
  return model;
}

void run_train(const TrainFlags& f) {
  Graph graph = load_graph(f.graph);
  PipelineOptions pipelines = f.pipelines;
  pipelines.batch_size = f.batch_size.value_or(graph.train.batch_size);
  const Launch launch = launch_from_environment();
  if (pipelines.batch_size % launch.ranks != 0)
    throw InputError(fmt::format("the batch of {} images ({}) does not split evenly over the launcher's {} ranks",
                                 pipelines.batch_size, f.batch_size ? "--batch-size" : "train.batch_size",
                                 launch.ranks));
  TrainOptions options = train_options(graph, f);
  if (options.optimizer.nesterov && options.optimizer.momentum <= 0)
    throw InputError("nesterov momentum needs a momentum above 0");
  const int64_t validation = f.validation.value_or(graph.train.validation);
  if (!f.save_best.empty() && validation == 0)
    throw InputError("--save-best needs a validation set: train.validation in the graph file, or --validation N");
  check_outputs({{"GRAPH", f.graph}, {"--init", f.init}, {"--resume", f.resume}, {"--schedule", f.pipelines.schedule_file}},
                {{"--save", f.save}, {"--metrics", f.metrics}, {"--checkpoint", f.checkpoint, Output::Kind::kFile, "--resume"},
                 {"--save-best", f.save_best}});
  // The options and the data are checked before compiling.
  if (pipelines.target == "cuda" && launch.ranks > 1) use_gpu_of_local_rank(launch.local_rank);
  check_pipeline_options(graph, pipelines);
  Dataset data = load_dataset(dataset_spec(graph, f.data), graph.num_classes(), graph.input.c, graph.input.h,
                              graph.input.w);
  hold_out(data, validation, pipelines.batch_size, f);
  std::optional<Parameters> init;
  if (!f.init.empty()) init = Parameters::load(parameter_specs(graph), f.init);
  World& world = join_world(launch);
  const int64_t batch = pipelines.batch_size;
  std::unique_ptr<CompiledModel> model = load_data_parallel(graph, pipelines, options, world);
  const Manifest& m = model->manifest();
  if (!f.checkpoint.empty() || !f.resume.empty()) options.run = identify_run(graph, *model, data, options, pipelines);
  TrainingState state = starting_state(f, m, options, std::move(init));
  const std::string momentum = options.optimizer.type == OptimizerType::Sgd
                                   ? fmt::format(", momentum {:g}", options.optimizer.momentum)
                                   : "";
  const std::string schedule = options.lr_schedule.type == LrSchedule::Type::Constant && !options.lr_schedule.warmup
                                   ? ""
                                   : ", schedule " + options.lr_schedule.str();
  const std::string ranks = options.world ? fmt::format(", {} ranks of {} images and {} threads ({})", world.size(),
                                                         m.batch, pipelines.threads, world.describe())
                                          : "";
  std::fprintf(stderr, "netc: training %s: %lld steps of %lld images, %s, lr %g%s%s%s\n", graph.name.c_str(),
               (long long)options.iterations, (long long)batch, optimizer_name(options.optimizer.type),
               options.optimizer.lr, momentum.c_str(), schedule.c_str(), ranks.c_str());
  TrainResult r;
  {
    StopOnSignals stop_on_signals;
    options.stop_signal = &stop_signal;
    r = train(*model, state, data, options);
  }
  // Not after a stop: mpirun, which forwarded the signal, is ending the job
  // and MPI_Finalize would wait for it.
  world.leave();
  if (world.rank() > 0) return;
  if (!f.save.empty()) state.params.save(f.save);
  if (state.best_val_accuracy) {
    const std::string where = f.save_best.empty() ? "" : ", its parameters in " + f.save_best;
    std::fprintf(stderr, "netc: best validation accuracy %.2f%%%s\n", *state.best_val_accuracy, where.c_str());
  }
  if (r.checkpoints > 0)
    std::fprintf(stderr, "netc: %lld checkpoints written to %s, %.1f ms each\n", (long long)r.checkpoints,
                 f.checkpoint.c_str(), 1e3 * r.checkpoint_seconds / double(r.checkpoints));
  if (r.allreduce_values > 0) {
    const double steps = double(std::max<int64_t>(r.steps, 1));
    std::fprintf(stderr,
                 "netc: MPI_Allreduce of %lld values: %.1f us per step, %.2f%% of the training time; waiting for "
                 "the slowest rank before it: %.1f us per step\n",
                 (long long)r.allreduce_values, 1e6 * r.allreduce_seconds / steps,
                 r.seconds > 0 ? 100 * r.allreduce_seconds / r.seconds : 0.0, 1e6 * r.wait_seconds / steps);
  }
  std::printf("%s: test accuracy %.2f%%, test loss %.4f after %lld steps; %.1f s of training (%.1f steps/s)\n",
              graph.name.c_str(), r.final_eval.accuracy, r.final_eval.loss, (long long)options.iterations,
              r.seconds, r.seconds > 0 ? double(r.steps) / r.seconds : 0.0);
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto f = std::make_shared<TrainFlags>();
  CLI::App* cmd = app.add_subcommand("train", "Train a graph with its optimizer and report its test accuracy");
  cmd->add_option("GRAPH", f->graph, "graph file (YAML)")->required();
  cmd->add_option("--data", f->data, "folder holding the four MNIST-format IDX files (raw or .gz)");
  cmd->add_option("--iterations", f->iterations, "SGD steps")->check(CLI::Range(int64_t(0), int64_t(1) << 40));
  cmd->add_option("--batch-size", f->batch_size, "images per step")->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  cmd->add_option("--lr", f->lr, "learning rate")->check(float32_at_least(0, true));
  cmd->add_option("--momentum", f->momentum, "SGD momentum")
      ->check(float32_at_least(0, false))
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--lr-schedule", f->lr_schedule,
                  "learning-rate schedule instead of the graph's: constant, step, multistep or cosine")
      ->check(CLI::IsMember({"constant", "step", "multistep", "cosine"}));
  cmd->add_option("--lr-step-size", f->lr_step_size, "step schedule: steps between decays")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 40));
  cmd->add_option("--lr-gamma", f->lr_gamma, "step and multistep schedules: factor of each decay")
      ->check(float32_at_least(0, true));
  cmd->add_option("--lr-milestones", f->lr_milestones, "multistep schedule: the steps after which it decays, as 1000,2000")
      ->delimiter(',')
      ->check(CLI::Range(int64_t(1), int64_t(1) << 40));
  cmd->add_option("--lr-t-max", f->lr_t_max, "cosine schedule: steps from lr down to --lr-eta-min")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 40));
  cmd->add_option("--lr-eta-min", f->lr_eta_min, "cosine schedule: the lowest lr")->check(float32_at_least(0, false));
  cmd->add_option("--lr-warmup", f->lr_warmup, "steps of linear warm-up before the schedule")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 40));
  cmd->add_option("--seed", f->seed, "seed of initialization and shuffling")->check(unsigned_64_bits());
  cmd->add_option("--eval-every", f->eval_every, "evaluate every N steps (0: only at the end)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 40));
  cmd->add_flag("--no-shuffle", f->no_shuffle, "consecutive batches instead of a reshuffle every epoch");
  cmd->add_option("--validation", f->validation, "hold out the last N training images to validate on (0: none)")
      ->check(CLI::Range(int64_t(0), int64_t(INT32_MAX)));
  CLI::Option* init = cmd->add_option("--init", f->init, "initial parameters (safetensors)");
  cmd->add_option("--save", f->save, "write the final parameters here (safetensors, atomically)");
  cmd->add_option("--save-best", f->save_best,
                  "write the parameters of the best validation accuracy so far here (safetensors, atomically)");
  cmd->add_option("--metrics", f->metrics, "write per-step losses and evaluations here (JSON Lines)");
  CLI::Option* checkpoint = cmd->add_option(
      "--checkpoint", f->checkpoint,
      "write checkpoints here (safetensors, atomically): after the last step, on SIGINT or SIGTERM, and every "
      "--checkpoint-every steps");
  cmd->add_option("--checkpoint-every", f->checkpoint_every, "steps between checkpoints")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 40))
      ->needs(checkpoint);
  cmd->add_option("--resume", f->resume,
                  "continue the run saved in this checkpoint (same graph and settings; the result is "
                  "bit-identical to an uninterrupted run's on the same target and thread count)")
      ->excludes(init);
  add_pipeline_options(cmd, f->pipelines);
  cmd->callback([f] { run_train(*f); });
}

}  // namespace netc

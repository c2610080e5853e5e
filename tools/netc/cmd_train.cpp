// netc train GRAPH [options]: trains the graph on its dataset.
#include <cstdio>

#include <fmt/format.h>

#include "commands.h"
#include "model_session.h"
#include "trainer.h"

namespace netc {
namespace {

struct TrainFlags {
  std::string graph, data, init, save, metrics;
  std::optional<int64_t> iterations, batch_size, eval_every;
  std::optional<uint64_t> seed;
  std::optional<double> lr, momentum;
  bool no_shuffle = false;
  PipelineOptions pipelines;
};

// The graph's train section with the flags applied over it.
TrainOptions train_options(const GraphFile& g, const TrainFlags& f) {
  TrainOptions o;
  o.iterations = f.iterations.value_or(g.train.iterations);
  o.eval_every = f.eval_every.value_or(g.train.eval_every);
  o.shuffle = g.train.shuffle && !f.no_shuffle;
  o.seed = f.seed.value_or(g.train.seed);
  o.sgd.lr = float(f.lr.value_or(g.train.optimizer.lr));
  o.sgd.momentum = float(f.momentum.value_or(g.train.optimizer.momentum));
  o.sgd.weight_decay = float(g.train.optimizer.weight_decay);
  o.sgd.nesterov = g.train.optimizer.nesterov;
  o.metrics_file = f.metrics;
  return o;
}

void run_train(const TrainFlags& f) {
  GraphFile graph = read_graph_file(f.graph);
  PipelineOptions pipelines = f.pipelines;
  pipelines.batch_size = f.batch_size.value_or(graph.train.batch_size);
  TrainOptions options = train_options(graph, f);
  if (options.sgd.nesterov && options.sgd.momentum <= 0)
    throw InputError("nesterov momentum needs a momentum above 0");

  std::unique_ptr<CompiledModel> model = load_pipelines(graph, pipelines);
  const Manifest& m = model->manifest();
  Dataset data = load_dataset(dataset_spec(graph, f.data), m.classes, m.input[0], m.input[1], m.input[2]);
  Parameters params = f.init.empty() ? Parameters::initialize(m.params, options.seed)
                                     : Parameters::load(m.params, f.init);
  std::fprintf(stderr, "netc: training %s: %lld steps of %lld images, lr %g, momentum %g\n", graph.name.c_str(),
               (long long)options.iterations, (long long)m.batch, double(options.sgd.lr),
               double(options.sgd.momentum));
  TrainResult r = train(*model, params, data, options);
  if (!f.save.empty()) params.save(f.save);
  std::printf("%s: test accuracy %.2f%%, test loss %.4f after %lld steps; %.1f s of training (%.1f steps/s)\n",
              graph.name.c_str(), r.final_eval.accuracy, r.final_eval.loss, (long long)options.iterations,
              r.seconds, r.seconds > 0 ? double(options.iterations) / r.seconds : 0.0);
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto f = std::make_shared<TrainFlags>();
  CLI::App* cmd = app.add_subcommand("train", "Train a graph with SGD and report its test accuracy");
  cmd->add_option("GRAPH", f->graph, "graph file (YAML)")->required();
  cmd->add_option("--data", f->data, "folder holding the four MNIST-format IDX files (raw or .gz)");
  cmd->add_option("--iterations", f->iterations, "SGD steps")->check(CLI::Range(int64_t(0), int64_t(1) << 40));
  cmd->add_option("--batch-size", f->batch_size, "images per step")->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  cmd->add_option("--lr", f->lr, "learning rate")->check(CLI::PositiveNumber);
  cmd->add_option("--momentum", f->momentum, "SGD momentum")->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--seed", f->seed, "seed of initialization and shuffling");
  cmd->add_option("--eval-every", f->eval_every, "evaluate every N steps (0: only at the end)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 40));
  cmd->add_flag("--no-shuffle", f->no_shuffle, "consecutive batches instead of a reshuffle every epoch");
  cmd->add_option("--init", f->init, "initial parameters (safetensors)");
  cmd->add_option("--save", f->save, "write the final parameters here (safetensors, atomically)");
  cmd->add_option("--metrics", f->metrics, "write per-step losses and evaluations here (JSON Lines)");
  add_pipeline_options(cmd, f->pipelines);
  cmd->callback([f] { run_train(*f); });
}

}  // namespace netc

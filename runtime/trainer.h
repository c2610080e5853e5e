// The training loop: batches in a seeded order, one compiled optimizer step
// each at the learning rate of its schedule,
// evaluation on the test set, progress, metrics, checkpoints, the divergence
// guard and stopping on request.
#pragma once

#include <csignal>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "checkpoint.h"
#include "compiled_model.h"
#include "dataset.h"
#include "distributed.h"
#include "lr_schedule.h"
#include "parameters.h"

namespace netc {

struct TrainOptions {
  int64_t iterations = 3000;
  int64_t eval_every = 500;  // 0: only at the end
  bool shuffle = true;
  uint64_t seed = 0;
  OptimizerSettings optimizer;  // the pipelines' update rule must be its type's
  LrSchedule lr_schedule;       // of optimizer.lr
  // Each training image of step k, slot i, translated by
  // augment_shift(seed, k, i, augment_shift) (runtime/batches.h); 0: none.
  int64_t augment_shift = 0;
  // With a validation set (Dataset::validation_images), the parameters of
  // the best validation accuracy so far are written here (empty: nowhere).
  std::string save_best_file;
  std::string metrics_file;  // JSON Lines; empty: none
  // Checkpoints go to checkpoint_file (empty: none) every checkpoint_every
  // steps (0: not on a schedule), when a stop is requested, and after the
  // last step; `run` is what they record.
  std::string checkpoint_file;
  int64_t checkpoint_every = 0;
  RunIdentity run;
  // Set by a signal handler (to the signal's number): the current step
  // finishes, a checkpoint is written, and train() throws TrainingStopped.
  const volatile std::sig_atomic_t* stop_signal = nullptr;
  // A data-parallel job of more than one rank (docs/distributed.md), whose
  // model has the split step and a batch of the global batch / world->size():
  // each rank trains on its slice of every batch and evaluates its share of
  // the batches. Null: this process alone. Only what `options` names is
  // written, so a caller leaves the files to rank 0.
  World* world = nullptr;
};

struct Evaluation {
  double loss = 0;      // mean over the images
  double accuracy = 0;  // percent
  int64_t images = 0;
};

// Loss and accuracy of `params` on every image of a labelled set, in batches
// of the model's batch size (the last one padded, the padding ignored); on
// the GPU for a GPU target.
Evaluation evaluate(CompiledModel& model, const Parameters& params, const IdxImages& images,
                    const std::vector<uint8_t>& labels);

// The same sums of rank `rank` of `ranks`, which evaluates the batches b with
// b % ranks == rank; EvalTally::sum gives the whole set's.
class EvalTally;
EvalTally evaluate_share(CompiledModel& model, const Parameters& params, const IdxImages& images,
                         const std::vector<uint8_t>& labels, int rank, int ranks);

// The images of every evaluation batch of a set of `count`, in order: each
// batch of `batch`, the last one padded with its last image.
std::vector<int32_t> evaluation_order(int64_t count, int64_t batch);

// Loss and accuracy summed over the batches of an evaluation.
class EvalTally {
 public:
  // The first `real` images of a batch: their logits (`classes` each),
  // losses and labels.
  void add(const float* logits, const float* losses, const int32_t* labels, int64_t real, int64_t classes);
  Evaluation result() const;
  // The tallies of every rank added up, on every rank.
  void sum(World& world);

 private:
  double loss_sum_ = 0;
  int64_t correct_ = 0, images_ = 0;
};

struct TrainResult {
  Evaluation final_eval;
  int64_t steps = 0;   // run by this call (fewer than the iterations when resumed)
  double seconds = 0;  // of those steps, not counting evaluation or checkpoints
  int64_t checkpoints = 0;
  double checkpoint_seconds = 0;
  // Of a data-parallel run: the time in the steps' MPI_Allreduce, the
  // values each reduced, and the time waiting for the slowest rank before it.
  double allreduce_seconds = 0, wait_seconds = 0;
  int64_t allreduce_values = 0;
};

// A loss, parameter or optimizer state became NaN or Inf; no checkpoint was
// written from that state.
class TrainingDiverged : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Training stopped at a signal's request after `step`, its checkpoint (if
// any) written.
class TrainingStopped : public std::runtime_error {
 public:
  TrainingStopped(const std::string& message, int signal, bool reported = false)
      : std::runtime_error(message), signal(signal), reported(reported) {}
  int signal;
  bool reported;  // already printed (by rank 0 of a data-parallel run, before the ranks end)
};

// The state before the first step: `params`, the optimizer's slots all zero.
TrainingState initial_state(Parameters params, const std::vector<ParameterSpec>& specs, UpdateRule rule);

// Trains from `state` (a fresh one or a checkpoint's) up to
// options.iterations steps on data.train_*, updating `state`; evaluates on
// data.test_* (and data.validation_*, if any) every options.eval_every steps
// and at the end.
// A run resumed from a checkpoint ends with the same bits as an uninterrupted
// one (same target and thread count); so does its metrics file, if it still
// starts with the records the checkpoint covers (TrainingState::metrics_bytes).
// TrainingDiverged when a loss or value becomes NaN or Inf; TrainingStopped
// when *options.stop_signal is set. On a GPU target everything stays on the
// device (runtime/device_training.h): losses are read back, checked and
// logged every 100 steps, a stop request is seen within as many, and `state`
// is brought back for checkpoints and at the end.
TrainResult train(CompiledModel& model, TrainingState& state, const Dataset& data, const TrainOptions& options);

}  // namespace netc

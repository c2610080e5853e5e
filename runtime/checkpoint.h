// Checkpoints: all that a training run needs to continue exactly where it
// stopped, in one safetensors file that PyTorch reads too
// (safetensors.torch.load_file): the parameters under their own names, the
// optimizer's state as "<slot>.<name>" (model_abi.h's update_slots:
// "momentum_buffer.<name>" for SGD, "exp_avg.<name>" and "exp_avg_sq.<name>"
// for Adam and AdamW), and in "__metadata__" the step, the batch order's
// state and the identity of the run. A checkpoint of the previous format,
// netc-checkpoint/2 (SGD with a constant learning rate), is read as one of
// this format with those settings.
//
// A checkpoint is refused (InputError) unless it is of this format version,
// intact (a SHA-256 covers every tensor byte and every metadata value), of
// the same run (graph, parameter table, batch size, shuffle, seed, optimizer
// settings, learning-rate schedule and training data), and its state is one a run can reach: finite
// tensors, a step the batch order's epoch agrees with, a generator that is
// not stuck. The digest detects damage, not a forger who recomputes it
// (checkpoint_checksum() is no secret); the range checks hold either way. Target, thread count and compiled pipelines may
// differ: the continuation is then correct but not bit-identical to an
// uninterrupted run, and read_checkpoint says so in a note.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compiled_model.h"
#include "dataset.h"
#include "lr_schedule.h"
#include "parameters.h"
#include "safetensors.h"

namespace netc {

inline constexpr const char* kCheckpointFormat = "netc-checkpoint/3";

// What a checkpoint records of the run that wrote it.
struct RunIdentity {
  // Must match to continue from a checkpoint.
  std::string graph;              // the graph's name
  std::string graph_fingerprint;  // its canonical form: layers, attributes, shapes
  int64_t batch_size = 0;
  bool shuffle = true;
  uint64_t seed = 0;
  OptimizerSettings optimizer;
  LrSchedule lr_schedule;
  int64_t train_images = 0;           // those trained on, without the validation set
  std::string train_data_fingerprint;  // train_data_fingerprint(dataset)
  int64_t validation = 0;              // images held out for validation
  int64_t augment_shift = 0;           // train.augment.shift
  // May differ (a note says the result will not be bit-identical).
  std::string target, pipelines;  // pipelines: the compiled library's fingerprint
  int threads = 0;
};

// The fingerprint of a data set's training images and labels, with those
// held out for validation.
std::string train_data_fingerprint(const Dataset& data);

// Where a run stands: before its first step, or as a checkpoint left it.
struct TrainingState {
  int64_t step = 0;  // steps done; step k + 1 trains on BatchOrder::batch(k)
  Parameters params;
  OptimizerSlots slots;     // the optimizer's state (parameters.h)
  std::string batch_order;  // BatchOrder::state(); empty: a fresh order
  // The first metrics_bytes bytes of the metrics file (their fingerprint):
  // the records of steps 1..step, so a resumed run keeps exactly those.
  uint64_t metrics_bytes = 0;
  std::string metrics_fingerprint;
  // The best validation accuracy of the run's evaluations so far (percent);
  // none before the first, or without a validation set.
  std::optional<double> best_val_accuracy;
};

// What a checkpoint's "checksum" metadata holds: the SHA-256 of its other
// metadata entries and of every tensor's name, shape and bytes.
std::string checkpoint_checksum(const std::map<std::string, std::string>& metadata,
                                const std::map<std::string, SafeTensor>& tensors);

// Writes atomically; `params` is the parameter table of the state's tensors.
// std::logic_error if a value is not finite: a checkpoint is always a state
// training can continue from.
void write_checkpoint(const std::string& path, const RunIdentity& run, const std::vector<ParameterSpec>& params,
                      const TrainingState& state);

// The state saved in `path`, checked against `run` and `params` (the
// compiled model's parameter table). Every problem is an InputError naming
// the file; differences that only cost bit-identity are appended to `notes`.
TrainingState read_checkpoint(const std::string& path, const RunIdentity& run, const std::vector<ParameterSpec>& params,
                              std::vector<std::string>* notes);

}  // namespace netc

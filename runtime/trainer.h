// The training loop: batches in a seeded order, one compiled SGD step each,
// evaluation on the test set, progress, metrics and the final parameters.
#pragma once

#include <cstdint>
#include <string>

#include "compiled_model.h"
#include "dataset.h"
#include "parameters.h"

namespace netc {

struct TrainOptions {
  int64_t iterations = 3000;
  int64_t eval_every = 500;  // 0: only at the end
  bool shuffle = true;
  uint64_t seed = 0;
  SgdSettings sgd;
  std::string metrics_file;  // JSON Lines; empty: none
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

 private:
  double loss_sum_ = 0;
  int64_t correct_ = 0, images_ = 0;
};

struct TrainResult {
  Evaluation final_eval;
  double seconds = 0;  // training steps only, not evaluation
};

// Trains `params` in place on data.train_*, evaluating on data.test_*. On a
// GPU target everything stays on the device (runtime/device_training.h) and
// the losses are read back every 100 steps.
TrainResult train(CompiledModel& model, Parameters& params, const Dataset& data, const TrainOptions& options);

}  // namespace netc

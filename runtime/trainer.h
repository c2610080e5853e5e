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
// of the model's batch size (the last one padded, the padding ignored).
Evaluation evaluate(CompiledModel& model, const Parameters& params, const IdxImages& images,
                    const std::vector<uint8_t>& labels);

struct TrainResult {
  Evaluation final_eval;
  double seconds = 0;  // training steps only, not evaluation
};

// Trains `params` in place on data.train_*, evaluating on data.test_*.
TrainResult train(CompiledModel& model, Parameters& params, const Dataset& data, const TrainOptions& options);

}  // namespace netc

// Training and evaluation of a model compiled for a GPU target with
// everything on the device: the data sets are uploaded once, each batch is
// gathered there by the compiled gatherer from the batch order, parameters and
// the optimizer's slots never leave it during training, and the losses of the
// steps stay there until they are read (when they are logged). Augmentation
// shifts, computed on the host as for the host's batches, go with the order.
#pragma once

#include <memory>
#include <vector>

#include "batches.h"
#include "compiled_model.h"
#include "dataset.h"
#include "device.h"
#include "parameters.h"
#include "trainer.h"

namespace netc {

// A labelled image set on the device, in the gatherer's layout.
class DeviceImageSet {
 public:
  DeviceImageSet(const Device& device, const IdxImages& images, const std::vector<uint8_t>& labels);
  DeviceBuffer& pixels() { return *pixels_; }
  DeviceBuffer& labels() { return *labels_; }
  int64_t count() const { return count_; }

 private:
  std::unique_ptr<DeviceBuffer> pixels_, labels_;
  int64_t count_;
};

class DeviceTraining {
 public:
  // The most steps run() takes at once.
  static constexpr int64_t kMaxSteps = 100;

  // Uploads `params`, `slots` and the data set (training, test and
  // validation images).
  DeviceTraining(CompiledModel& model, const Parameters& params, const OptimizerSlots& slots, const Dataset& data);

  // Enqueues one optimizer step per batch (at most kMaxSteps), with the
  // scalars of each, each image translated by its shift (`shifts`: one list
  // per batch, or none); returns without waiting for the GPU.
  void run(const std::vector<std::vector<int32_t>>& batches, const std::vector<StepScalars>& scalars,
           const std::vector<std::vector<ImageShift>>& shifts = {});
  // The losses of the steps run since the last call, in order; waits for them.
  std::vector<float> take_losses();
  Evaluation evaluate_test_set();
  Evaluation evaluate_validation_set();
  // The current parameters and optimizer slots, copied to the host.
  void download(Parameters& params, OptimizerSlots& slots);

  // A data-parallel rank's step in two halves, for a model compiled with
  // them (has_split_step), the gradients staged through the host for the
  // allreduce: the gradients of `batch` (each image translated by its shift,
  // `shifts` empty for none), copied to grads[k] on the host, and the batch's
  // loss; then the update by `grads`, summed over the ranks, with `scalars`.
  float gradients(const std::vector<int32_t>& batch, const std::vector<ImageShift>& shifts,
                  const std::vector<float*>& grads);
  void update(const StepScalars& scalars, const std::vector<const float*>& grads);

 private:
  // Uploads the order and shifts of `batches` (at most kMaxSteps with the
  // losses not yet taken).
  void upload_batches(const std::vector<std::vector<int32_t>>& batches,
                      const std::vector<std::vector<ImageShift>>& shifts);

  CompiledModel& model_;
  Device device_;
  DeviceImageSet train_, test_, validation_;
  const std::vector<uint8_t>&test_labels_, &validation_labels_;
  // params_[0] and slots_[0] are current; the step writes the [1]s, then
  // they swap. slots_[i][s][k]: slot s of parameter k.
  std::vector<std::unique_ptr<DeviceBuffer>> params_[2];
  std::vector<std::vector<std::unique_ptr<DeviceBuffer>>> slots_[2];
  // The images of the batches of run(), and their shifts (dx, dy each).
  std::unique_ptr<DeviceBuffer> order_, shifts_, images_, labels_;
  // The gradients of gradients(), per parameter (data-parallel models only).
  std::vector<std::unique_ptr<DeviceBuffer>> grads_;
  // Step k's loss: element k of losses_ on the device, or host_losses_[k]
  // where the schedule computes it on the host.
  std::unique_ptr<DeviceBuffer> losses_;
  std::vector<float> host_losses_ = std::vector<float>(kMaxSteps);
  std::vector<bool> loss_on_host_ = std::vector<bool>(kMaxSteps);
  int64_t pending_losses_ = 0;
};

// Evaluation of `params` on a labelled set on the GPU, as evaluate() on the host.
Evaluation evaluate_on_device(CompiledModel& model, const Parameters& params, const IdxImages& images,
                              const std::vector<uint8_t>& labels);

}  // namespace netc

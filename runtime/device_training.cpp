#include "device_training.h"

#include <fmt/format.h>

namespace netc {
namespace {

const halide_type_t kFloat32(halide_type_float, 32), kInt32(halide_type_int, 32), kUInt8(halide_type_uint, 8);

std::vector<int> halide_extents(const std::vector<int64_t>& shape) { return {shape.rbegin(), shape.rend()}; }

int checked_int(int64_t n, const char* what) {
  if (n > INT32_MAX) throw std::runtime_error(fmt::format("{} ({}) is too large for a GPU buffer", what, n));
  return int(n);
}

// The device buffers of one batch: images (x, y, c, n) and labels (n).
struct Batch {
  std::unique_ptr<DeviceBuffer> images, labels;
};

Batch allocate_batch(const Device& device, const Manifest& m) {
  return {device.allocate(kFloat32, {int(m.input[2]), int(m.input[1]), int(m.input[0]), int(m.batch)}),
          device.allocate(kInt32, {int(m.batch)})};
}

std::vector<std::unique_ptr<DeviceBuffer>> upload_all(const Device& device, const Manifest& m,
                                                      const std::vector<const float*>& values) {
  std::vector<std::unique_ptr<DeviceBuffer>> buffers;
  for (size_t k = 0; k < m.params.size(); ++k) {
    buffers.push_back(device.allocate(kFloat32, halide_extents(m.params[k].shape)));
    device.upload(*buffers.back(), values[k]);
  }
  return buffers;
}

std::vector<halide_buffer_t*> raw(const std::vector<std::unique_ptr<DeviceBuffer>>& buffers) {
  std::vector<halide_buffer_t*> raw;
  for (const auto& b : buffers) raw.push_back(b->raw());
  return raw;
}

std::vector<std::vector<halide_buffer_t*>> raw(const std::vector<std::vector<std::unique_ptr<DeviceBuffer>>>& slots) {
  std::vector<std::vector<halide_buffer_t*>> raw_slots;
  for (const auto& slot : slots) raw_slots.push_back(raw(slot));
  return raw_slots;
}

// Gathers the batch order[first .. first + batch) of `set` into `batch`,
// translated by shifts[first .. first + batch).
void gather(CompiledModel& model, DeviceImageSet& set, DeviceBuffer& order, DeviceBuffer& shifts, int32_t first,
            Batch& batch) {
  std::vector<void*> args = gather_arguments(set.pixels().raw(), set.labels().raw(), order.raw(), shifts.raw(),
                                             first, batch.images->raw(), batch.labels->raw());
  model.call(CompiledModel::Pipeline::Gather, args);
}

Evaluation evaluate_set(CompiledModel& model, const Device& device, DeviceImageSet& set,
                        const std::vector<uint8_t>& labels, std::vector<std::unique_ptr<DeviceBuffer>>& params) {
  const Manifest& m = model.manifest();
  std::vector<int32_t> order = evaluation_order(set.count(), m.batch);
  if (order.empty()) return EvalTally().result();
  const int positions = checked_int(int64_t(order.size()), "the set");
  std::unique_ptr<DeviceBuffer> order_buffer = device.allocate(kInt32, {positions});
  device.upload(*order_buffer, order.data());
  std::unique_ptr<DeviceBuffer> unshifted = device.allocate(kInt32, {2, positions});  // evaluation never shifts
  device.upload(*unshifted, std::vector<int32_t>(size_t(2) * order.size(), 0).data());
  Batch batch = allocate_batch(device, m);
  std::unique_ptr<DeviceBuffer> logits = device.allocate(kFloat32, {int(m.classes), int(m.batch)});
  std::unique_ptr<DeviceBuffer> losses = device.allocate(kFloat32, {int(m.batch)});
  std::vector<float> host_logits(size_t(m.batch * m.classes)), host_losses(size_t(m.batch));
  std::vector<int32_t> batch_labels(size_t(m.batch));
  EvalTally tally;
  for (int64_t start = 0; start < set.count(); start += m.batch) {
    gather(model, set, *order_buffer, *unshifted, int32_t(start), batch);
    std::vector<void*> args =
        inference_arguments(batch.images->raw(), batch.labels->raw(), raw(params), logits->raw(), losses->raw());
    model.call(CompiledModel::Pipeline::Inference, args);
    device.download(*logits, host_logits.data());
    device.download(*losses, host_losses.data());
    for (int64_t k = 0; k < m.batch; ++k) batch_labels[size_t(k)] = labels[size_t(order[size_t(start + k)])];
    tally.add(host_logits.data(), host_losses.data(), batch_labels.data(), std::min(m.batch, set.count() - start),
              m.classes);
  }
  return tally.result();
}

}  // namespace

DeviceImageSet::DeviceImageSet(const Device& device, const IdxImages& images, const std::vector<uint8_t>& labels)
    : count_(images.count) {
  if (images.count == 0) {  // buffers need an element; the gatherer never reads them
    pixels_ = device.allocate(kUInt8, {int(images.cols), int(images.rows), 1});
    labels_ = device.allocate(kUInt8, {1});
    return;
  }
  const int count = checked_int(images.count, "the number of images");
  pixels_ = device.allocate(kUInt8, {int(images.cols), int(images.rows), count});
  labels_ = device.allocate(kUInt8, {count});
  device.upload(*pixels_, images.pixels.data());
  device.upload(*labels_, labels.data());
}

DeviceTraining::DeviceTraining(CompiledModel& model, const Parameters& params, const OptimizerSlots& slots,
                               const Dataset& data)
    : model_(model),
      device_(model),
      train_(device_, data.train_images, data.train_labels),
      test_(device_, data.test_images, data.test_labels),
      validation_(device_, data.validation_images, data.validation_labels),
      test_labels_(data.test_labels),
      validation_labels_(data.validation_labels) {
  const Manifest& m = model.manifest();
  Parameters zeros = Parameters::zeros(m.params);
  params_[0] = upload_all(device_, m, params.data());
  params_[1] = upload_all(device_, m, zeros.data());
  for (const Parameters& slot : slots) {
    slots_[0].push_back(upload_all(device_, m, slot.data()));
    slots_[1].push_back(upload_all(device_, m, zeros.data()));
  }
  order_ = device_.allocate(kInt32, {int(m.batch * kMaxSteps)});
  shifts_ = device_.allocate(kInt32, {2, int(m.batch * kMaxSteps)});
  Batch batch = allocate_batch(device_, m);
  images_ = std::move(batch.images);
  labels_ = std::move(batch.labels);
  losses_ = device_.allocate(kFloat32, {int(kMaxSteps)});
  if (model.has_split_step()) grads_ = upload_all(device_, m, zeros.data());
}

void DeviceTraining::upload_batches(const std::vector<std::vector<int32_t>>& batches,
                                    const std::vector<std::vector<ImageShift>>& shifts) {
  const Manifest& m = model_.manifest();
  if (pending_losses_ + int64_t(batches.size()) > kMaxSteps)
    throw std::logic_error("DeviceTraining: more steps than kMaxSteps before take_losses");
  if (!shifts.empty() && shifts.size() != batches.size())
    throw std::logic_error("DeviceTraining: shifts for some batches but not all");
  std::vector<int32_t> order(size_t(m.batch * kMaxSteps), 0);
  std::vector<int32_t> shift_values(2 * order.size(), 0);  // (dx, dy) per image of `order`
  for (size_t s = 0; s < batches.size(); ++s) {
    std::copy(batches[s].begin(), batches[s].end(), order.begin() + s * m.batch);
    for (size_t i = 0; !shifts.empty() && i < shifts[s].size(); ++i) {
      shift_values[2 * (s * m.batch + i)] = shifts[s][i].dx;
      shift_values[2 * (s * m.batch + i) + 1] = shifts[s][i].dy;
    }
  }
  device_.upload(*order_, order.data());
  device_.upload(*shifts_, shift_values.data());
}

void DeviceTraining::run(const std::vector<std::vector<int32_t>>& batches, const std::vector<StepScalars>& scalars,
                         const std::vector<std::vector<ImageShift>>& shifts) {
  const Manifest& m = model_.manifest();
  upload_batches(batches, shifts);
  Batch batch{std::move(images_), std::move(labels_)};
  for (size_t s = 0; s < batches.size(); ++s) {
    gather(model_, train_, *order_, *shifts_, int32_t(s * m.batch), batch);
    const int slot = int(pending_losses_++);
    std::unique_ptr<DeviceBuffer> loss = device_.element(*losses_, slot, &host_losses_[size_t(slot)]);
    StepScalars step = scalars[s];
    std::vector<void*> args = train_step_arguments(m.update, batch.images->raw(), batch.labels->raw(), step,
                                                   raw(params_[0]), raw(slots_[0]), loss->raw(), raw(params_[1]),
                                                   raw(slots_[1]));
    model_.call(CompiledModel::Pipeline::TrainStep, args);
    loss_on_host_[size_t(slot)] = loss->raw()->host_dirty();  // a schedule that computes it on the host
    std::swap(params_[0], params_[1]);
    std::swap(slots_[0], slots_[1]);
  }
  images_ = std::move(batch.images);
  labels_ = std::move(batch.labels);
}

float DeviceTraining::gradients(const std::vector<int32_t>& batch, const std::vector<ImageShift>& shifts,
                                const std::vector<float*>& grads) {
  if (grads_.empty()) throw std::logic_error("DeviceTraining::gradients: the model has no split step");
  upload_batches({batch}, shifts.empty() ? std::vector<std::vector<ImageShift>>()
                                         : std::vector<std::vector<ImageShift>>{shifts});
  Batch on_device{std::move(images_), std::move(labels_)};
  gather(model_, train_, *order_, *shifts_, 0, on_device);
  const int slot = int(pending_losses_++);
  std::unique_ptr<DeviceBuffer> loss = device_.element(*losses_, slot, &host_losses_[size_t(slot)]);
  std::vector<void*> args = gradients_arguments(on_device.images->raw(), on_device.labels->raw(), raw(params_[0]),
                                                loss->raw(), raw(grads_));
  model_.call(CompiledModel::Pipeline::Gradients, args);
  loss_on_host_[size_t(slot)] = loss->raw()->host_dirty();
  images_ = std::move(on_device.images);
  labels_ = std::move(on_device.labels);
  for (size_t k = 0; k < grads_.size(); ++k) device_.download(*grads_[k], grads[k]);
  return take_losses().back();
}

void DeviceTraining::update(const StepScalars& scalars, const std::vector<const float*>& grads) {
  for (size_t k = 0; k < grads_.size(); ++k) device_.upload(*grads_[k], grads[k]);
  StepScalars step = scalars;
  std::vector<void*> args = update_arguments(model_.manifest().update, step, raw(params_[0]), raw(slots_[0]),
                                             raw(grads_), raw(params_[1]), raw(slots_[1]));
  model_.call(CompiledModel::Pipeline::Update, args);
  std::swap(params_[0], params_[1]);
  std::swap(slots_[0], slots_[1]);
}

std::vector<float> DeviceTraining::take_losses() {
  std::vector<float> on_device(static_cast<size_t>(kMaxSteps));
  // Written through views, which Halide's flags of the whole array do not see.
  losses_->raw()->set_host_dirty(false);
  losses_->raw()->set_device_dirty(true);
  device_.download(*losses_, on_device.data());
  std::vector<float> losses;
  for (size_t k = 0; k < size_t(pending_losses_); ++k) losses.push_back(loss_on_host_[k] ? host_losses_[k] : on_device[k]);
  pending_losses_ = 0;
  return losses;
}

Evaluation DeviceTraining::evaluate_test_set() {
  return evaluate_set(model_, device_, test_, test_labels_, params_[0]);
}

Evaluation DeviceTraining::evaluate_validation_set() {
  return evaluate_set(model_, device_, validation_, validation_labels_, params_[0]);
}

void DeviceTraining::download(Parameters& params, OptimizerSlots& slots) {
  for (size_t k = 0; k < params.count(); ++k) {
    device_.download(*params_[0][k], params[k].data());
    for (size_t s = 0; s < slots.size(); ++s) device_.download(*slots_[0][s][k], slots[s][k].data());
  }
}

Evaluation evaluate_on_device(CompiledModel& model, const Parameters& params, const IdxImages& images,
                              const std::vector<uint8_t>& labels) {
  Device device(model);
  DeviceImageSet set(device, images, labels);
  std::vector<std::unique_ptr<DeviceBuffer>> on_device = upload_all(device, model.manifest(), params.data());
  return evaluate_set(model, device, set, labels, on_device);
}

}  // namespace netc

#include "trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "atomic_file.h"
#include "batches.h"
#include "device_training.h"
#include "fingerprint.h"

namespace netc {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::string duration_str(double s) {
  int total = int(std::lround(s));
  return total >= 60 ? fmt::format("{}m{:02d}s", total / 60, total % 60) : fmt::format("{}s", total);
}

// A live progress line on a terminal; plain log lines (every `log_every`
// steps) when stderr is a file or a pipe.
class Progress {
 public:
  // `first`: the first step this process runs (after a resume, not 1).
  Progress(int64_t first, int64_t total, int64_t batch)
      : first_(first), total_(total), batch_(batch), live_(isatty(STDERR_FILENO)) {}
  // Ends a live line cut short (a divergence, a stop), so that the message
  // about it starts a line of its own.
  ~Progress() {
    if (open_line_) std::fprintf(stderr, "\n");
  }

  void step(int64_t k, float loss, double elapsed) {
    const bool log_line = k % kLogEvery == 0 || k == total_;
    if (!live_ && !log_line) return;
    const int64_t done = k - first_ + 1;
    double rate = double(done * batch_) / std::max(elapsed, 1e-9);
    double eta = elapsed / double(done) * double(total_ - k);
    std::string line = fmt::format("step {}/{}  loss {:.4f}  {:.0f} images/s  ETA {}", k, total_, loss, rate,
                                   duration_str(eta));
    open_line_ = live_ && k != total_;
    if (live_)
      std::fprintf(stderr, "\r%s\033[K%s", line.c_str(), k == total_ ? "\n" : "");
    else
      std::fprintf(stderr, "%s\n", line.c_str());
  }

  void message(const std::string& text) {
    std::fprintf(stderr, live_ ? "\r%s\033[K\n" : "%s\n", text.c_str());
    open_line_ = false;
  }

 private:
  static constexpr int64_t kLogEvery = 100;
  int64_t first_, total_, batch_;
  bool live_, open_line_ = false;
};

// JSON Lines kept in memory and rewritten atomically, so the file on disk is
// always complete. Records are only ever appended, so a checkpoint can name
// the ones it covers by their length and fingerprint.
class Metrics {
 public:
  Metrics(std::string path, std::string history) : path_(std::move(path)), text_(std::move(history)) {}
  void add(const nlohmann::json& record) {
    if (!path_.empty()) text_ += record.dump() + "\n";
  }
  void flush() const {
    if (!path_.empty()) write_file_atomically(path_, text_);
  }
  uint64_t bytes() const { return text_.size(); }
  std::string fingerprint() const { return Fingerprint().add(text_.data(), text_.size()).hex(); }

 private:
  std::string path_, text_;
};

// The records a resumed run keeps: those of steps 1..state.step, which are
// the first state.metrics_bytes bytes of the metrics file if it still holds
// them. If not (no --metrics before, another file, a deleted one), a note
// says so and the file restarts with step state.step + 1.
std::string metrics_history(const std::string& path, const TrainingState& state, Progress& progress) {
  if (path.empty() || state.step == 0) return "";
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  const auto file_bytes = in ? uint64_t(in.tellg()) : 0;
  std::string history;
  if (in && state.metrics_bytes > 0 && state.metrics_bytes <= file_bytes) {
    history.resize(size_t(state.metrics_bytes));
    in.seekg(0);
    in.read(history.data(), std::streamsize(history.size()));
    if (in && Fingerprint().add(history.data(), history.size()).hex() == state.metrics_fingerprint) return history;
  }
  progress.message(fmt::format("netc: note: {} does not hold this run's metrics of steps 1 to {}; it will hold "
                               "those from step {} on",
                               path, state.step, state.step + 1));
  return "";
}

std::string signal_name(int signal) {
  return signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : fmt::format("signal {}", signal);
}

// Names the first tensor of the state that is not finite, or "".
std::string non_finite_tensor(const TrainingState& state, UpdateRule rule) {
  std::string where;
  if (!state.params.all_finite(&where)) return fmt::format("parameter '{}'", where);
  const std::vector<std::string> slot_names = update_slots(rule);
  for (size_t s = 0; s < state.slots.size(); ++s)
    if (!state.slots[s].all_finite(&where)) return fmt::format("the {} of '{}'", slot_names[s], where);
  return "";
}

// Writes checkpoints, and remembers the last one for the divergence message.
class Checkpointer {
 public:
  Checkpointer(const TrainOptions& options, const Manifest& manifest, int64_t first_step)
      : options_(options), manifest_(manifest), last_step_(first_step - 1) {}

  bool enabled() const { return !options_.checkpoint_file.empty(); }
  bool due(int64_t k) const { return enabled() && options_.checkpoint_every > 0 && k % options_.checkpoint_every == 0; }
  bool written_at(int64_t k) const { return written_ && last_step_ == k; }

  void write(TrainingState& state, const BatchOrder& order, Metrics& metrics) {
    auto start = Clock::now();
    metrics.flush();  // first, so that the file always holds what the checkpoint names
    state.batch_order = order.state();
    state.metrics_bytes = metrics.bytes();
    state.metrics_fingerprint = metrics.fingerprint();
    write_checkpoint(options_.checkpoint_file, options_.run, manifest_.params, state);
    written_ = true;
    last_step_ = state.step;
    ++count_;
    seconds_ += seconds_since(start);
  }

  // What a divergence at step k leaves behind.
  std::string status(int64_t k) const {
    if (!enabled()) return "no checkpoint was written (see --checkpoint)";
    if (written_)
      return fmt::format("the last good checkpoint, {} (step {}), is kept", options_.checkpoint_file, last_step_);
    return fmt::format("no checkpoint was written before step {}, {} is as it was", k, options_.checkpoint_file);
  }

  int64_t count() const { return count_; }
  double seconds() const { return seconds_; }

 private:
  const TrainOptions& options_;
  const Manifest& manifest_;
  bool written_ = false;
  int64_t last_step_, count_ = 0;
  double seconds_ = 0;
};

std::string float_str(float v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Inf" : "-Inf";
  return fmt::format("{}", v);
}

// Why training must stop at step k ("" if it need not): the loss or the
// updated state (when `state` is given) is not finite. Nothing of such a
// state is ever written.
std::string divergence(int64_t k, float loss, const TrainingState* state, UpdateRule rule,
                       const Checkpointer& checkpoints) {
  const std::string bad_tensor = state ? non_finite_tensor(*state, rule) : "";
  if (std::isfinite(loss) && bad_tensor.empty()) return "";
  std::string what = std::isfinite(loss)
                         ? fmt::format("the loss was {} but its update made {} NaN or Inf", float_str(loss), bad_tensor)
                         : fmt::format("the loss is {}", float_str(loss)) +
                               (bad_tensor.empty() ? "" : fmt::format(" and {} is NaN or Inf", bad_tensor));
  return fmt::format("training diverged at step {}: {}; {}. A smaller --lr may help", k, what, checkpoints.status(k));
}

// Where the steps of a training run: the host, or a GPU holding everything.
class StepRunner {
 public:
  virtual ~StepRunner() = default;
  // Steps whose losses may wait before they are read: 1 on the host, where
  // reading them is free.
  virtual int64_t steps_per_sync() const = 0;
  // Whether the TrainingState holds the current values after every step.
  virtual bool state_is_current() const = 0;
  // One optimizer step per batch, in order, with the scalars of each, each
  // image translated by its shift (`shifts`: one list per batch, or none).
  virtual void run(const std::vector<std::vector<int32_t>>& batches, const std::vector<StepScalars>& scalars,
                   const std::vector<std::vector<ImageShift>>& shifts) = 0;
  // The losses of the steps run since the last call, in order.
  virtual std::vector<float> take_losses() = 0;
  virtual Evaluation evaluate_test_set() = 0;
  virtual Evaluation evaluate_validation_set() = 0;
  // Brings the state's parameters and optimizer slots up to date.
  virtual void fetch(TrainingState& state) = 0;
  // The signal to stop at after the steps run, given the one this process
  // saw (0: none).
  virtual int stop_request(int seen) { return seen; }
};

// Steps on the host, updating the state in place.
class HostSteps : public StepRunner {
 public:
  HostSteps(CompiledModel& model, TrainingState& state, const Dataset& data)
      : model_(model),
        state_(state),
        data_(data),
        next_params_(Parameters::zeros(model.manifest().params)),
        next_slots_(zero_slots(model.manifest().update, model.manifest().params)),
        images_(size_t(model.manifest().batch * model.manifest().image_size())),
        labels_(size_t(model.manifest().batch)) {}

  int64_t steps_per_sync() const override { return 1; }
  bool state_is_current() const override { return true; }

  void run(const std::vector<std::vector<int32_t>>& batches, const std::vector<StepScalars>& scalars,
           const std::vector<std::vector<ImageShift>>& shifts) override {
    static const std::vector<ImageShift> kUnshifted;
    for (size_t s = 0; s < batches.size(); ++s) {
      gather_batch(data_.train_images, data_.train_labels, batches[s], images_.data(), labels_.data(),
                   shifts.empty() ? kUnshifted : shifts[s]);
      losses_.push_back(model_.train_step(images_.data(), labels_.data(), scalars[s], state_.params.data(),
                                          slot_data(state_.slots), next_params_.mutable_data(),
                                          mutable_slot_data(next_slots_)));
      // The step wrote the new values into a second set; the two swap.
      std::swap(state_.params, next_params_);
      std::swap(state_.slots, next_slots_);
    }
  }

  std::vector<float> take_losses() override { return std::exchange(losses_, {}); }
  Evaluation evaluate_test_set() override {
    return evaluate(model_, state_.params, data_.test_images, data_.test_labels);
  }
  Evaluation evaluate_validation_set() override {
    return evaluate(model_, state_.params, data_.validation_images, data_.validation_labels);
  }
  void fetch(TrainingState&) override {}

 private:
  CompiledModel& model_;
  TrainingState& state_;
  const Dataset& data_;
  Parameters next_params_;
  OptimizerSlots next_slots_;
  AlignedVector<float> images_;
  AlignedVector<int32_t> labels_;
  std::vector<float> losses_;
};

class DeviceSteps : public StepRunner {
 public:
  DeviceSteps(CompiledModel& model, const TrainingState& state, const Dataset& data)
      : training_(model, state.params, state.slots, data) {}
  int64_t steps_per_sync() const override { return DeviceTraining::kMaxSteps; }
  bool state_is_current() const override { return false; }
  void run(const std::vector<std::vector<int32_t>>& batches, const std::vector<StepScalars>& scalars,
           const std::vector<std::vector<ImageShift>>& shifts) override {
    training_.run(batches, scalars, shifts);
  }
  std::vector<float> take_losses() override { return training_.take_losses(); }
  Evaluation evaluate_test_set() override { return training_.evaluate_test_set(); }
  Evaluation evaluate_validation_set() override { return training_.evaluate_validation_set(); }
  void fetch(TrainingState& state) override { training_.download(state.params, state.slots); }

 private:
  DeviceTraining training_;
};

// Where a data-parallel rank computes the gradients of its slice of a batch
// and applies the gradients summed over the ranks: the host's memory or a GPU
// (which stages them through the host for the allreduce).
class RankDevice {
 public:
  virtual ~RankDevice() = default;
  // The gradients of `slice` (images of the training set, each translated by
  // its shift; `shifts` empty: none) into grads[k]; the slice's mean loss.
  virtual float gradients(const std::vector<int32_t>& slice, const std::vector<ImageShift>& shifts,
                          const std::vector<float*>& grads) = 0;
  virtual void update(const StepScalars& scalars, const std::vector<const float*>& grads) = 0;
  // On every rank, the same evaluation of the same parameters.
  virtual Evaluation evaluate(bool validation) = 0;
  virtual bool state_is_current() const = 0;
  virtual void fetch(TrainingState& state) = 0;
};

// The host's: the state is updated in place; evaluation is shared out over
// the ranks and summed.
class HostRank : public RankDevice {
 public:
  HostRank(CompiledModel& model, TrainingState& state, const Dataset& data, World& world)
      : model_(model),
        state_(state),
        data_(data),
        world_(world),
        next_params_(Parameters::zeros(model.manifest().params)),
        next_slots_(zero_slots(model.manifest().update, model.manifest().params)),
        images_(size_t(model.manifest().batch * model.manifest().image_size())),
        labels_(size_t(model.manifest().batch)) {}

  float gradients(const std::vector<int32_t>& slice, const std::vector<ImageShift>& shifts,
                  const std::vector<float*>& grads) override {
    gather_batch(data_.train_images, data_.train_labels, slice, images_.data(), labels_.data(), shifts);
    return model_.gradients(images_.data(), labels_.data(), state_.params.data(), grads);
  }
  void update(const StepScalars& scalars, const std::vector<const float*>& grads) override {
    model_.update(scalars, state_.params.data(), slot_data(state_.slots), grads, next_params_.mutable_data(),
                  mutable_slot_data(next_slots_));
    std::swap(state_.params, next_params_);
    std::swap(state_.slots, next_slots_);
  }
  Evaluation evaluate(bool validation) override {
    const IdxImages& images = validation ? data_.validation_images : data_.test_images;
    const std::vector<uint8_t>& labels = validation ? data_.validation_labels : data_.test_labels;
    EvalTally tally = evaluate_share(model_, state_.params, images, labels, world_.rank(), world_.size());
    tally.sum(world_);
    return tally.result();
  }
  bool state_is_current() const override { return true; }
  void fetch(TrainingState&) override {}

 private:
  CompiledModel& model_;
  TrainingState& state_;
  const Dataset& data_;
  World& world_;
  Parameters next_params_;
  OptimizerSlots next_slots_;
  AlignedVector<float> images_;
  AlignedVector<int32_t> labels_;
};

// A GPU's, one per rank: parameters and slots stay there; each rank
// evaluates the whole set itself (the same parameters give the same result).
class GpuRank : public RankDevice {
 public:
  GpuRank(CompiledModel& model, const TrainingState& state, const Dataset& data)
      : training_(model, state.params, state.slots, data) {}
  float gradients(const std::vector<int32_t>& slice, const std::vector<ImageShift>& shifts,
                  const std::vector<float*>& grads) override {
    return training_.gradients(slice, shifts, grads);
  }
  void update(const StepScalars& scalars, const std::vector<const float*>& grads) override {
    training_.update(scalars, grads);
  }
  Evaluation evaluate(bool validation) override {
    return validation ? training_.evaluate_validation_set() : training_.evaluate_test_set();
  }
  bool state_is_current() const override { return false; }
  void fetch(TrainingState& state) override { training_.download(state.params, state.slots); }

 private:
  DeviceTraining training_;
};

// One rank of a data-parallel job: the gradients of its slice of each batch,
// summed over the ranks in one MPI_Allreduce together with the loss and the
// ranks' stop requests, then the update, the same on every rank. The mean
// loss and gradient of the global batch is the mean of the ranks' means, the
// slices being equal.
class DistributedSteps : public StepRunner {
 public:
  DistributedSteps(CompiledModel& model, TrainingState& state, const Dataset& data, World& world,
                   const volatile std::sig_atomic_t* stop_signal)
      : batch_(size_t(model.manifest().batch)), world_(world), stop_signal_(stop_signal) {
    if (!model.has_split_step()) throw std::logic_error("a data-parallel run needs a model compiled for it");
    if (model.manifest().on_gpu())
      rank_ = std::make_unique<GpuRank>(model, state, data);
    else
      rank_ = std::make_unique<HostRank>(model, state, data, world);
    // One buffer for every gradient, each starting on a 128-byte boundary
    // (the pipelines' alignment), then the loss and the stop request.
    size_t end = 0;
    for (const ParameterSpec& p : model.manifest().params) {
      offsets_.push_back(end);
      end += (size_t(p.size()) + 31) / 32 * 32;
    }
    gradient_values_ = end;
    reduced_.assign(end + kExtras, 0.0f);
    for (size_t k = 0; k < offsets_.size(); ++k) {
      grads_.push_back(reduced_.data() + offsets_[k]);
      const_grads_.push_back(reduced_.data() + offsets_[k]);
    }
  }

  int64_t steps_per_sync() const override { return 1; }
  bool state_is_current() const override { return rank_->state_is_current(); }

  void run(const std::vector<std::vector<int32_t>>& batches, const std::vector<StepScalars>& scalars,
           const std::vector<std::vector<ImageShift>>& shifts) override {
    const size_t first = size_t(world_.rank()) * batch_;
    for (size_t s = 0; s < batches.size(); ++s) {
      const std::vector<int32_t> slice(batches[s].begin() + first, batches[s].begin() + first + batch_);
      const std::vector<ImageShift> shift_slice =
          shifts.empty() ? std::vector<ImageShift>()
                         : std::vector<ImageShift>(shifts[s].begin() + first, shifts[s].begin() + first + batch_);
      float* extras = reduced_.data() + gradient_values_;
      extras[kLoss] = rank_->gradients(slice, shift_slice, grads_);
      const int seen = stop_signal_ ? int(*stop_signal_) : 0;
      extras[kStopping] = seen ? 1.0f : 0.0f;
      extras[kSignals] = float(seen);
      // The wait for the slowest rank, timed apart from the sum itself.
      const auto arrived = Clock::now();
      world_.barrier();
      const auto start = Clock::now();
      world_.sum(reduced_.data(), reduced_.size());
      wait_seconds_ += std::chrono::duration<double>(start - arrived).count();
      allreduce_seconds_ += seconds_since(start);
      const float ranks = float(world_.size());
      for (size_t i = 0; i < gradient_values_; ++i) reduced_[i] /= ranks;
      losses_.push_back(extras[kLoss] / ranks);
      agreed_stop_ = extras[kStopping] > 0 ? int(std::lround(extras[kSignals] / extras[kStopping])) : 0;
      rank_->update(scalars[s], const_grads_);
    }
  }

  std::vector<float> take_losses() override { return std::exchange(losses_, {}); }
  Evaluation evaluate_test_set() override { return rank_->evaluate(false); }
  Evaluation evaluate_validation_set() override { return rank_->evaluate(true); }
  void fetch(TrainingState& state) override { rank_->fetch(state); }
  // The ranks stop together, after the step whose sum first carried a request.
  int stop_request(int) override { return agreed_stop_; }

  double allreduce_seconds() const { return allreduce_seconds_; }
  double wait_seconds() const { return wait_seconds_; }
  int64_t allreduce_values() const { return int64_t(reduced_.size()); }

 private:
  // After the gradients: the rank's loss, whether it saw a stop request, and the signal.
  enum Extra { kLoss, kStopping, kSignals, kExtras };

  const size_t batch_;  // the rank's slice of each batch
  World& world_;
  const volatile std::sig_atomic_t* stop_signal_;
  std::unique_ptr<RankDevice> rank_;
  std::vector<size_t> offsets_;
  size_t gradient_values_ = 0;
  AlignedVector<float> reduced_;
  std::vector<float*> grads_;
  std::vector<const float*> const_grads_;
  std::vector<float> losses_;
  int agreed_stop_ = 0;
  double allreduce_seconds_ = 0, wait_seconds_ = 0;
};

int64_t next_multiple(int64_t k, int64_t m) { return (k + m - 1) / m * m; }

}  // namespace

std::vector<int32_t> evaluation_order(int64_t count, int64_t batch) {
  std::vector<int32_t> order;
  for (int64_t start = 0; start < count; start += batch) {
    const int64_t real = std::min(batch, count - start);
    for (int64_t k = 0; k < batch; ++k) order.push_back(int32_t(start + std::min(k, real - 1)));
  }
  return order;
}

void EvalTally::add(const float* logits, const float* losses, const int32_t* labels, int64_t real, int64_t classes) {
  for (int64_t k = 0; k < real; ++k) {
    loss_sum_ += losses[k];
    const float* row = logits + k * classes;
    int64_t best = 0;  // the first maximum, as torch.argmax
    for (int64_t c = 1; c < classes; ++c)
      if (row[c] > row[best]) best = c;
    correct_ += best == labels[k];
  }
  images_ += real;
}

Evaluation EvalTally::result() const {
  Evaluation e;
  e.images = images_;
  e.loss = images_ ? loss_sum_ / double(images_) : 0;
  e.accuracy = images_ ? 100.0 * double(correct_) / double(images_) : 0;
  return e;
}

void EvalTally::sum(World& world) {
  double totals[] = {loss_sum_, double(correct_), double(images_)};
  world.sum(totals, 3);
  loss_sum_ = totals[0];
  correct_ = int64_t(totals[1]);
  images_ = int64_t(totals[2]);
}

Evaluation evaluate(CompiledModel& model, const Parameters& params, const IdxImages& images,
                    const std::vector<uint8_t>& labels) {
  if (model.manifest().on_gpu()) return evaluate_on_device(model, params, images, labels);
  return evaluate_share(model, params, images, labels, 0, 1).result();
}

EvalTally evaluate_share(CompiledModel& model, const Parameters& params, const IdxImages& images,
                         const std::vector<uint8_t>& labels, int rank, int ranks) {
  const Manifest& m = model.manifest();
  const int64_t batch = m.batch;
  AlignedVector<float> image_buf(static_cast<size_t>(batch * m.image_size()));
  AlignedVector<int32_t> label_buf(static_cast<size_t>(batch));
  AlignedVector<float> logits(static_cast<size_t>(batch * m.classes)), losses(static_cast<size_t>(batch));
  const std::vector<int32_t> order = evaluation_order(images.count, batch);
  EvalTally tally;
  for (int64_t start = int64_t(rank) * batch; start < images.count; start += int64_t(ranks) * batch) {
    std::vector<int32_t> idx(order.begin() + start, order.begin() + start + batch);
    gather_batch(images, labels, idx, image_buf.data(), label_buf.data());
    model.infer(image_buf.data(), label_buf.data(), params.data(), logits.data(), losses.data());
    tally.add(logits.data(), losses.data(), label_buf.data(), std::min(batch, images.count - start), m.classes);
  }
  return tally;
}

TrainingState initial_state(Parameters params, const std::vector<ParameterSpec>& specs, UpdateRule rule) {
  return TrainingState{0, std::move(params), zero_slots(rule, specs), "", 0, "", std::nullopt};
}

TrainResult train(CompiledModel& model, TrainingState& state, const Dataset& data, const TrainOptions& options) {
  const Manifest& m = model.manifest();
  const bool data_parallel = options.world && options.world->size() > 1;
  // The global batch; a rank's model takes its slice.
  const int64_t batch = m.batch * (data_parallel ? options.world->size() : 1);
  if (state.step > options.iterations)
    throw std::invalid_argument(fmt::format("train: the state is at step {}, past the {} iterations", state.step,
                                            options.iterations));
  if (update_rule(options.optimizer.type) != m.update)
    throw std::invalid_argument(fmt::format("train: the pipelines update by {}, the optimizer is {}",
                                            update_rule_name(m.update), optimizer_name(options.optimizer.type)));
  BatchOrder order(data.train_images.count, batch, options.shuffle, options.seed);
  if (!state.batch_order.empty()) order.restore(state.batch_order, state.step);
  std::unique_ptr<StepRunner> steps;
  DistributedSteps* distributed = nullptr;
  if (data_parallel) {
    auto runner = std::make_unique<DistributedSteps>(model, state, data, *options.world, options.stop_signal);
    distributed = runner.get();
    steps = std::move(runner);
  } else if (m.on_gpu())
    steps = std::make_unique<DeviceSteps>(model, state, data);
  else
    steps = std::make_unique<HostSteps>(model, state, data);
  Progress progress(state.step + 1, options.iterations, batch);
  Metrics metrics(options.metrics_file, metrics_history(options.metrics_file, state, progress));
  Checkpointer checkpoints(options, m, state.step + 1);
  TrainResult result;

  // The state brought up to date, checked (a GPU's values are seen only
  // now), then written.
  auto fetch_state = [&] {
    steps->fetch(state);
    if (const std::string bad = non_finite_tensor(state, m.update); !bad.empty()) {
      metrics.flush();
      throw TrainingDiverged(fmt::format("training diverged by step {}: {} is NaN or Inf; {}. A smaller --lr may help",
                                         state.step, bad, checkpoints.status(state.step)));
    }
  };
  // Validates, keeping the best parameters so far (the first of equals);
  // says how it went, for the evaluation's line.
  auto validate = [&](int64_t k) {
    Evaluation v = steps->evaluate_validation_set();
    metrics.add({{"iter", k}, {"val_loss", v.loss}, {"val_accuracy", v.accuracy}});
    if (!state.best_val_accuracy || v.accuracy > *state.best_val_accuracy) {
      state.best_val_accuracy = v.accuracy;
      if (!options.save_best_file.empty()) {
        fetch_state();
        state.params.save(options.save_best_file);
      }
    }
    return fmt::format("; validation loss {:.4f}, validation accuracy {:.2f}% ({} images)", v.loss, v.accuracy,
                       v.images);
  };
  auto run_eval = [&](int64_t k) {
    Evaluation e = steps->evaluate_test_set();
    metrics.add({{"iter", k}, {"test_loss", e.loss}, {"test_accuracy", e.accuracy}});
    const std::string validation = data.validation_images.count > 0 ? validate(k) : "";
    metrics.flush();
    progress.message(fmt::format("step {}: test loss {:.4f}, test accuracy {:.2f}% ({} images){}", k, e.loss,
                                 e.accuracy, e.images, validation));
    return e;
  };
  auto checkpoint_now = [&] {
    fetch_state();
    checkpoints.write(state, order, metrics);
  };

  for (int64_t first = state.step + 1; first <= options.iterations;) {
    // Up to where losses are read next, the next evaluation or checkpoint.
    int64_t last = std::min(options.iterations, next_multiple(first, steps->steps_per_sync()));
    if (options.eval_every > 0) last = std::min(last, next_multiple(first, options.eval_every));
    if (checkpoints.enabled() && options.checkpoint_every > 0)
      last = std::min(last, next_multiple(first, options.checkpoint_every));
    std::vector<std::vector<int32_t>> batches;
    std::vector<double> lrs;
    std::vector<StepScalars> scalars;
    std::vector<std::vector<ImageShift>> shifts;
    for (int64_t k = first; k <= last; ++k) {
      batches.push_back(order.batch(k - 1));
      lrs.push_back(options.lr_schedule.lr(options.optimizer.lr, k));
      scalars.push_back(step_scalars(options.optimizer, lrs.back(), k));
      if (options.augment_shift > 0) shifts.push_back(augment_shifts(options.seed, k, batch, options.augment_shift));
    }
    auto start = Clock::now();
    steps->run(batches, scalars, shifts);
    std::vector<float> losses = steps->take_losses();
    result.seconds += seconds_since(start);
    result.steps += last - first + 1;
    state.step = last;
    for (int64_t k = first; k <= last; ++k) {
      const float loss = losses[size_t(k - first)];
      metrics.add({{"iter", k}, {"loss", loss}, {"lr", lrs[size_t(k - first)]}});
      progress.step(k, loss, result.seconds);
      // The host's state is current after each step (then one per batch).
      const TrainingState* current = steps->state_is_current() ? &state : nullptr;
      if (std::string why = divergence(k, loss, current, m.update, checkpoints); !why.empty()) {
        metrics.flush();
        throw TrainingDiverged(why);
      }
    }
    if (options.eval_every > 0 && last % options.eval_every == 0 && last != options.iterations) run_eval(last);
    if (const int stop = steps->stop_request(options.stop_signal ? int(*options.stop_signal) : 0)) {
      if (checkpoints.enabled())
        checkpoint_now();
      else
        metrics.flush();
      const std::string why = fmt::format("stopped by {} after step {} of {}; {}", signal_name(stop), last,
                                          options.iterations,
                                          checkpoints.enabled()
                                              ? fmt::format("continue with --resume {}", options.checkpoint_file)
                                              : std::string("no checkpoint written (see --checkpoint)"));
      if (!data_parallel) throw TrainingStopped(why, stop);
      // The launcher ends the job when the first rank exits, and kills the
      // ranks soon after forwarding a signal: rank 0 says why before any
      // rank can exit, and no rank ends before rank 0's files are whole.
      if (options.world->rank() == 0) progress.message("netc: " + why);
      options.world->barrier();
      throw TrainingStopped(why, stop, /*reported=*/true);
    }
    if (checkpoints.due(last)) checkpoint_now();
    first = last + 1;
  }
  if (checkpoints.enabled() && !checkpoints.written_at(options.iterations)) checkpoint_now();
  result.final_eval = run_eval(options.iterations);
  fetch_state();
  result.checkpoints = checkpoints.count();
  result.checkpoint_seconds = checkpoints.seconds();
  if (distributed) {
    result.allreduce_seconds = distributed->allreduce_seconds();
    result.wait_seconds = distributed->wait_seconds();
    result.allreduce_values = distributed->allreduce_values();
  }
  return result;
}

}  // namespace netc

#include "trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "atomic_file.h"
#include "batches.h"
#include "device_training.h"

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
  Progress(int64_t total, int64_t batch) : total_(total), batch_(batch), live_(isatty(STDERR_FILENO)) {}

  void step(int64_t k, float loss, double elapsed) {
    const bool log_line = k % kLogEvery == 0 || k == total_;
    if (!live_ && !log_line) return;
    double rate = double(k * batch_) / std::max(elapsed, 1e-9);
    double eta = elapsed / double(k) * double(total_ - k);
    std::string line = fmt::format("step {}/{}  loss {:.4f}  {:.0f} images/s  ETA {}", k, total_, loss, rate,
                                   duration_str(eta));
    if (live_)
      std::fprintf(stderr, "\r%s\033[K%s", line.c_str(), k == total_ ? "\n" : "");
    else
      std::fprintf(stderr, "%s\n", line.c_str());
  }

  void message(const std::string& text) {
    std::fprintf(stderr, live_ ? "\r%s\033[K\n" : "%s\n", text.c_str());
  }

 private:
  static constexpr int64_t kLogEvery = 100;
  int64_t total_, batch_;
  bool live_;
};

// JSON Lines kept in memory and rewritten atomically, so the file on disk is
// always complete.
class Metrics {
 public:
  explicit Metrics(std::string path) : path_(std::move(path)) {}
  void add(const nlohmann::json& record) {
    if (!path_.empty()) text_ += record.dump() + "\n";
  }
  void flush() const {
    if (!path_.empty()) write_file_atomically(path_, text_);
  }

 private:
  std::string path_, text_;
};

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

Evaluation evaluate(CompiledModel& model, const Parameters& params, const IdxImages& images,
                    const std::vector<uint8_t>& labels) {
  if (model.manifest().on_gpu()) return evaluate_on_device(model, params, images, labels);
  const Manifest& m = model.manifest();
  const int64_t batch = m.batch;
  AlignedVector<float> image_buf(static_cast<size_t>(batch * m.image_size()));
  AlignedVector<int32_t> label_buf(static_cast<size_t>(batch));
  AlignedVector<float> logits(static_cast<size_t>(batch * m.classes)), losses(static_cast<size_t>(batch));
  const std::vector<int32_t> order = evaluation_order(images.count, batch);
  EvalTally tally;
  for (int64_t start = 0; start < images.count; start += batch) {
    std::vector<int32_t> idx(order.begin() + start, order.begin() + start + batch);
    gather_batch(images, labels, idx, image_buf.data(), label_buf.data());
    model.infer(image_buf.data(), label_buf.data(), params.data(), logits.data(), losses.data());
    tally.add(logits.data(), losses.data(), label_buf.data(), std::min(batch, images.count - start), m.classes);
  }
  return tally.result();
}

namespace {

// Where the steps of a training run: the host, or a GPU holding everything.
class StepRunner {
 public:
  virtual ~StepRunner() = default;
  // Steps whose losses may wait before they are read: 1 on the host, where
  // reading them is free.
  virtual int64_t steps_per_sync() const = 0;
  // One SGD step per batch, in order.
  virtual void run(const std::vector<std::vector<int32_t>>& batches) = 0;
  // The losses of the steps run since the last call, in order.
  virtual std::vector<float> take_losses() = 0;
  virtual Evaluation evaluate_test_set() = 0;
  // Makes `params` the current parameters (the host's are always current).
  virtual void fetch(Parameters& params) = 0;
};

class HostSteps : public StepRunner {
 public:
  HostSteps(CompiledModel& model, Parameters& params, const Dataset& data, const SgdSettings& sgd)
      : model_(model),
        params_(params),
        data_(data),
        sgd_(sgd),
        momenta_(Parameters::zeros(model.manifest().params)),
        next_params_(Parameters::zeros(model.manifest().params)),
        next_momenta_(Parameters::zeros(model.manifest().params)),
        images_(size_t(model.manifest().batch * model.manifest().image_size())),
        labels_(size_t(model.manifest().batch)) {}

  int64_t steps_per_sync() const override { return 1; }

  void run(const std::vector<std::vector<int32_t>>& batches) override {
    for (const std::vector<int32_t>& batch : batches) {
      gather_batch(data_.train_images, data_.train_labels, batch, images_.data(), labels_.data());
      losses_.push_back(model_.train_step(images_.data(), labels_.data(), sgd_, params_.data(), momenta_.data(),
                                          next_params_.mutable_data(), next_momenta_.mutable_data()));
      // The step wrote the new values into the second set; the two swap.
      std::swap(params_, next_params_);
      std::swap(momenta_, next_momenta_);
    }
  }

  std::vector<float> take_losses() override { return std::exchange(losses_, {}); }
  Evaluation evaluate_test_set() override { return evaluate(model_, params_, data_.test_images, data_.test_labels); }
  void fetch(Parameters&) override {}

 private:
  CompiledModel& model_;
  Parameters& params_;
  const Dataset& data_;
  SgdSettings sgd_;
  Parameters momenta_, next_params_, next_momenta_;
  AlignedVector<float> images_;
  AlignedVector<int32_t> labels_;
  std::vector<float> losses_;
};

class DeviceSteps : public StepRunner {
 public:
  DeviceSteps(CompiledModel& model, const Parameters& params, const Dataset& data, const SgdSettings& sgd)
      : training_(model, params, data, sgd) {}
  int64_t steps_per_sync() const override { return DeviceTraining::kMaxSteps; }
  void run(const std::vector<std::vector<int32_t>>& batches) override { training_.run(batches); }
  std::vector<float> take_losses() override { return training_.take_losses(); }
  Evaluation evaluate_test_set() override { return training_.evaluate_test_set(); }
  void fetch(Parameters& params) override { training_.download(params); }

 private:
  DeviceTraining training_;
};

int64_t next_multiple(int64_t k, int64_t m) { return (k + m - 1) / m * m; }

}  // namespace

TrainResult train(CompiledModel& model, Parameters& params, const Dataset& data, const TrainOptions& options) {
  const Manifest& m = model.manifest();
  BatchOrder order(data.train_images.count, m.batch, options.shuffle, options.seed);
  std::unique_ptr<StepRunner> steps;
  if (m.on_gpu())
    steps = std::make_unique<DeviceSteps>(model, params, data, options.sgd);
  else
    steps = std::make_unique<HostSteps>(model, params, data, options.sgd);
  Progress progress(options.iterations, m.batch);
  Metrics metrics(options.metrics_file);
  TrainResult result;

  auto run_eval = [&](int64_t k) {
    Evaluation e = steps->evaluate_test_set();
    metrics.add({{"iter", k}, {"test_loss", e.loss}, {"test_accuracy", e.accuracy}});
    metrics.flush();
    progress.message(fmt::format("step {}: test loss {:.4f}, test accuracy {:.2f}% ({} images)", k, e.loss,
                                 e.accuracy, e.images));
    return e;
  };

  double train_seconds = 0;
  for (int64_t first = 1; first <= options.iterations;) {
    // Up to the next point where losses are read, or the next evaluation.
    int64_t last = std::min(options.iterations, next_multiple(first, steps->steps_per_sync()));
    if (options.eval_every > 0) last = std::min(last, next_multiple(first, options.eval_every));
    std::vector<std::vector<int32_t>> batches;
    for (int64_t k = first; k <= last; ++k) batches.push_back(order.batch(k - 1));
    auto start = Clock::now();
    steps->run(batches);
    std::vector<float> losses = steps->take_losses();
    train_seconds += seconds_since(start);
    for (int64_t k = first; k <= last; ++k) {
      const float loss = losses[size_t(k - first)];
      metrics.add({{"iter", k}, {"loss", loss}});
      progress.step(k, loss, train_seconds);
      if (!std::isfinite(loss))
        throw std::runtime_error(fmt::format("training diverged: the loss of step {} is {}", k, loss));
    }
    if (options.eval_every > 0 && last % options.eval_every == 0 && last != options.iterations) run_eval(last);
    first = last + 1;
  }
  result.final_eval = run_eval(options.iterations);
  steps->fetch(params);
  result.seconds = train_seconds;
  return result;
}

}  // namespace netc

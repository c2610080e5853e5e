#include "trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "atomic_file.h"
#include "batches.h"

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

Evaluation evaluate(CompiledModel& model, const Parameters& params, const IdxImages& images,
                    const std::vector<uint8_t>& labels) {
  const Manifest& m = model.manifest();
  const int64_t batch = m.batch;
  AlignedVector<float> image_buf(static_cast<size_t>(batch * m.image_size()));
  AlignedVector<int32_t> label_buf(static_cast<size_t>(batch));
  AlignedVector<float> logits(static_cast<size_t>(batch * m.classes)), losses(static_cast<size_t>(batch));
  std::vector<const float*> param_data = params.data();
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t start = 0; start < images.count; start += batch) {
    const int64_t real = std::min(batch, images.count - start);
    std::vector<int32_t> idx(static_cast<size_t>(batch));
    for (int64_t k = 0; k < batch; ++k) idx[size_t(k)] = int32_t(start + std::min(k, real - 1));
    gather_batch(images, labels, idx, image_buf.data(), label_buf.data());
    model.infer(image_buf.data(), label_buf.data(), param_data, logits.data(), losses.data());
    for (int64_t k = 0; k < real; ++k) {
      loss_sum += losses[size_t(k)];
      const float* row = &logits[size_t(k * m.classes)];
      int64_t best = 0;  // the first maximum, as torch.argmax
      for (int64_t c = 1; c < m.classes; ++c)
        if (row[c] > row[best]) best = c;
      correct += best == label_buf[size_t(k)];
    }
  }
  Evaluation e;
  e.images = images.count;
  e.loss = images.count ? loss_sum / double(images.count) : 0;
  e.accuracy = images.count ? 100.0 * double(correct) / double(images.count) : 0;
  return e;
}

TrainResult train(CompiledModel& model, Parameters& params, const Dataset& data, const TrainOptions& options) {
  const Manifest& m = model.manifest();
  const int64_t batch = m.batch;
  BatchOrder order(data.train_images.count, batch, options.shuffle, options.seed);
  Parameters momenta = Parameters::zeros(m.params);
  // The step writes new values into a second set; the two swap every step.
  Parameters next_params = Parameters::zeros(m.params), next_momenta = Parameters::zeros(m.params);
  AlignedVector<float> image_buf(static_cast<size_t>(batch * m.image_size()));
  AlignedVector<int32_t> label_buf(static_cast<size_t>(batch));
  Progress progress(options.iterations, batch);
  Metrics metrics(options.metrics_file);
  TrainResult result;

  auto run_eval = [&](int64_t k) {
    Evaluation e = evaluate(model, params, data.test_images, data.test_labels);
    metrics.add({{"iter", k}, {"test_loss", e.loss}, {"test_accuracy", e.accuracy}});
    metrics.flush();
    progress.message(fmt::format("step {}: test loss {:.4f}, test accuracy {:.2f}% ({} images)", k, e.loss,
                                 e.accuracy, e.images));
    return e;
  };

  double train_seconds = 0;
  for (int64_t k = 1; k <= options.iterations; ++k) {
    gather_batch(data.train_images, data.train_labels, order.batch(k - 1), image_buf.data(), label_buf.data());
    auto start = Clock::now();
    float loss = model.train_step(image_buf.data(), label_buf.data(), options.sgd, params.data(), momenta.data(),
                                  next_params.mutable_data(), next_momenta.mutable_data());
    train_seconds += seconds_since(start);
    std::swap(params, next_params);
    std::swap(momenta, next_momenta);
    metrics.add({{"iter", k}, {"loss", loss}});
    progress.step(k, loss, train_seconds);
    if (!std::isfinite(loss))
      throw std::runtime_error(fmt::format("training diverged: the loss of step {} is {}", k, loss));
    if (options.eval_every > 0 && k % options.eval_every == 0 && k != options.iterations) run_eval(k);
  }
  result.final_eval = run_eval(options.iterations);
  result.seconds = train_seconds;
  return result;
}

}  // namespace netc

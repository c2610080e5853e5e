#include "trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "atomic_file.h"
#include "batches.h"
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
std::string non_finite_tensor(const Parameters& params, const Parameters& momenta) {
  std::string where;
  if (!params.all_finite(&where)) return fmt::format("parameter '{}'", where);
  if (!momenta.all_finite(&where)) return fmt::format("the momentum buffer of '{}'", where);
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
// updated state is not finite. Nothing of such a state is ever written.
std::string divergence(int64_t k, float loss, const TrainingState& state, const Checkpointer& checkpoints) {
  const std::string bad_tensor = non_finite_tensor(state.params, state.momenta);
  if (std::isfinite(loss) && bad_tensor.empty()) return "";
  std::string what = std::isfinite(loss)
                         ? fmt::format("the loss was {} but its update made {} NaN or Inf", float_str(loss), bad_tensor)
                         : fmt::format("the loss is {}", float_str(loss)) +
                               (bad_tensor.empty() ? "" : fmt::format(" and {} is NaN or Inf", bad_tensor));
  return fmt::format("training diverged at step {}: {}; {}. A smaller --lr may help", k, what, checkpoints.status(k));
}

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

TrainingState initial_state(Parameters params, const std::vector<ParamInfo>& specs) {
  return TrainingState{0, std::move(params), Parameters::zeros(specs), "", 0, ""};
}

TrainResult train(CompiledModel& model, TrainingState& state, const Dataset& data, const TrainOptions& options) {
  const Manifest& m = model.manifest();
  const int64_t batch = m.batch;
  if (state.step > options.iterations)
    throw std::invalid_argument(fmt::format("train: the state is at step {}, past the {} iterations", state.step,
                                            options.iterations));
  BatchOrder order(data.train_images.count, batch, options.shuffle, options.seed);
  if (!state.batch_order.empty()) order.restore(state.batch_order);
  // The step writes new values into a second set; the two swap every step.
  Parameters next_params = Parameters::zeros(m.params), next_momenta = Parameters::zeros(m.params);
  AlignedVector<float> image_buf(static_cast<size_t>(batch * m.image_size()));
  AlignedVector<int32_t> label_buf(static_cast<size_t>(batch));
  Progress progress(state.step + 1, options.iterations, batch);
  Metrics metrics(options.metrics_file, metrics_history(options.metrics_file, state, progress));
  Checkpointer checkpoints(options, m, state.step + 1);
  TrainResult result;

  auto run_eval = [&](int64_t k) {
    Evaluation e = evaluate(model, state.params, data.test_images, data.test_labels);
    metrics.add({{"iter", k}, {"test_loss", e.loss}, {"test_accuracy", e.accuracy}});
    metrics.flush();
    progress.message(fmt::format("step {}: test loss {:.4f}, test accuracy {:.2f}% ({} images)", k, e.loss,
                                 e.accuracy, e.images));
    return e;
  };

  for (int64_t k = state.step + 1; k <= options.iterations; ++k) {
    gather_batch(data.train_images, data.train_labels, order.batch(k - 1), image_buf.data(), label_buf.data());
    auto start = Clock::now();
    float loss = model.train_step(image_buf.data(), label_buf.data(), options.sgd, state.params.data(),
                                  state.momenta.data(), next_params.mutable_data(), next_momenta.mutable_data());
    result.seconds += seconds_since(start);
    ++result.steps;
    std::swap(state.params, next_params);
    std::swap(state.momenta, next_momenta);
    state.step = k;
    metrics.add({{"iter", k}, {"loss", loss}});
    progress.step(k, loss, result.seconds);
    if (std::string why = divergence(k, loss, state, checkpoints); !why.empty()) {
      metrics.flush();
      throw TrainingDiverged(why);
    }
    if (options.eval_every > 0 && k % options.eval_every == 0 && k != options.iterations) run_eval(k);
    if (const int stop = options.stop_signal ? int(*options.stop_signal) : 0) {
      if (checkpoints.enabled())
        checkpoints.write(state, order, metrics);
      else
        metrics.flush();
      throw TrainingStopped(fmt::format("stopped by {} after step {} of {}; {}", signal_name(stop), k,
                                        options.iterations,
                                        checkpoints.enabled()
                                            ? fmt::format("continue with --resume {}", options.checkpoint_file)
                                            : std::string("no checkpoint written (see --checkpoint)")),
                            stop);
    }
    if (checkpoints.due(k)) checkpoints.write(state, order, metrics);
  }
  if (checkpoints.enabled() && !checkpoints.written_at(options.iterations)) checkpoints.write(state, order, metrics);
  result.final_eval = run_eval(options.iterations);
  result.checkpoints = checkpoints.count();
  result.checkpoint_seconds = checkpoints.seconds();
  return result;
}

}  // namespace netc

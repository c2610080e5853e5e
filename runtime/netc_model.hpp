// netc_model.hpp: runs a graph that `netc compile` compiled ahead of time.
//
// Header-only, copied verbatim into every `netc compile` output. It needs
// the C++17 standard library and Halide's two runtime headers (HalideBuffer.h,
// HalideRuntime.h, shipped next to it), model_abi.h and safetensors.hpp
// (shipped too), never Halide itself nor anything else of netc. Each compiled
// graph comes with a header of its own, netc_<graph>.hpp, whose function
// netc_<graph>() describes the graph to netc::Model:
//
//   #include "netc_model_a.hpp"
//   netc::Model model(netc_model_a(), "model_a.safetensors");
//   std::vector<int32_t> classes = model.classify(images, n);
//
// Images are float32, n x channels x height x width, pixels / 255 (as netc
// and PyTorch's ToTensor); weights are safetensors files with PyTorch's names
// and layouts (what `netc train --save` writes).
//
// A graph compiled for a GPU (`netc compile --target cuda`) runs the same way:
// Halide's runtime, linked in with the pipelines, uploads what the host wrote
// and Model copies back what the host reads, so parameters stay on the GPU
// from one train_step to the next.
#pragma once

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "HalideBuffer.h"
#include "HalideRuntime.h"
#include "model_abi.h"
#include "safetensors.hpp"

namespace netc {

// A problem with what the caller passed in: a weights file, labels, a count.
class InvalidInput : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A graph compiled by `netc compile`: its shapes and the entry points of its
// two pipelines (Halide's argv form, called as model_abi.h says).
struct CompiledGraph {
  std::string name;
  int64_t batch;                    // images per call of a pipeline
  int64_t channels, height, width;  // of one image
  int64_t classes;
  std::vector<ParameterSpec> params;
  int (*inference)(void** args);
  int (*train_step)(void** args);
  std::string target;  // netc's: "host" or "cuda"
  UpdateRule update = UpdateRule::Sgd;  // of train_step: the graph's optimizer's
};

struct Evaluation {
  std::vector<int32_t> predictions;  // per image: the class with the highest score (the first, on ties)
  int64_t correct = 0;
  double loss = 0;                   // mean cross-entropy
  double accuracy() const {          // percent
    return predictions.empty() ? 0 : 100.0 * double(correct) / double(predictions.size());
  }
};

namespace detail {

// Exactly the tensors of `specs` from a safetensors file (F32, finite), or an
// InvalidInput that names the file and the problem.
inline std::vector<std::vector<float>> read_weights(const std::string& path, const std::vector<ParameterSpec>& specs) {
  safetensors::Tensors tensors;
  try {
    tensors = safetensors::read(path);
  } catch (const safetensors::Error& e) {
    throw InvalidInput(e.what());
  }
  std::vector<std::vector<float>> values;
  for (const ParameterSpec& spec : specs) {
    auto it = tensors.find(spec.name);
    if (it == tensors.end()) throw InvalidInput(path + ": has no tensor '" + spec.name + "'");
    std::vector<float>& v = it->second.data;
    if (it->second.shape != spec.shape)
      throw InvalidInput(path + ": tensor '" + spec.name + "' has shape " + safetensors::shape_text(it->second.shape) +
                         " but the graph needs " + safetensors::shape_text(spec.shape));
    if (!std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); }))
      throw InvalidInput(path + ": tensor '" + spec.name + "' holds NaN or Inf");
    values.push_back(std::move(v));
    tensors.erase(it);
  }
  if (!tensors.empty())
    throw InvalidInput(path + ": tensor '" + tensors.begin()->first + "' is not a parameter of this graph");
  return values;
}

// The messages of the Halide errors on this thread since the last clear().
// A failure may raise dozens (one per missing driver function): the first
// and the last tell what happened.
struct HalideMessages {
  std::string first, last;
  int count = 0;
  void clear() { *this = {}; }
  std::string text() const {
    if (count <= 1) return first;
    return first + (count > 2 ? "; ... (" + std::to_string(count - 2) + " more); " : "; ") + last;
  }
};

inline HalideMessages& halide_messages() {
  static thread_local HalideMessages messages;
  return messages;
}

// Halide's default error handler aborts the program; this one keeps the
// messages for the exception that the failed call throws.
inline void keep_halide_error(void*, const char* message) {
  std::string m = message;
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  HalideMessages& all = halide_messages();
  (all.count++ == 0 ? all.first : all.last) = m;
}

// Throws "<what> failed: <Halide's messages>" if `error` is not 0.
inline void check_halide(int error, const std::string& what) {
  if (error == 0) return;
  const HalideMessages& m = halide_messages();
  throw std::runtime_error(what + " failed: " + (m.count ? m.text() : "Halide error " + std::to_string(error)));
}

// Halide's CUDA runtime looks for the driver's functions among those already
// loaded before it opens "libcuda.so", which only CUDA's development files
// install; a machine with just the driver has "libcuda.so.1".
inline void load_cuda_driver() {
  static const bool loaded = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL) != nullptr;
  (void)loaded;  // without it, the first pipeline fails with Halide's message
}

// A Halide buffer that may have a copy on a GPU. Dropping one frees that copy
// first: Halide's Buffer refuses (asserts) to drop device data newer than its
// host data, which a GPU model's parameters always are.
template <typename T>
class Tensor : public Halide::Runtime::Buffer<T> {
  using Base = Halide::Runtime::Buffer<T>;

 public:
  using Base::Base;
  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&& other) noexcept {
    this->device_free();
    Base::operator=(std::move(other));
    return *this;
  }
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;
  ~Tensor() { this->device_free(); }

  // The host's values, copied from the GPU if newer there.
  T* host_data() {
    halide_messages().clear();
    check_halide(this->copy_to_host(), "copying a result from the GPU");
    return this->data();
  }
  // For the host to write: values the GPU holds are dropped, and the next
  // pipeline uploads the host's.
  T* writable_data() {
    this->set_device_dirty(false);
    this->set_host_dirty(true);
    return this->data();
  }
};

}  // namespace detail

// A compiled graph with its parameters and the buffers its pipelines use.
// Not thread-safe; use one Model per thread (the pipelines themselves run
// on every core: see set_threads). A failure in a pipeline (on a GPU: no
// driver, out of memory) throws std::runtime_error with Halide's message:
// Model installs a Halide error handler for the whole program that keeps the
// message instead of aborting.
class Model {
 public:
  // Parameters all zero until load_weights.
  explicit Model(const CompiledGraph& graph)
      : graph_(&graph),
        images_(int(graph.width), int(graph.height), int(graph.channels), int(graph.batch)),
        labels_(int(graph.batch)),
        logits_(int(graph.classes), int(graph.batch)),
        losses_(int(graph.batch)) {
    halide_set_error_handler(detail::keep_halide_error);
    if (graph.target == "cuda") detail::load_cuda_driver();
    for (const ParameterSpec& p : graph.params) params_.push_back(tensor(p.shape));
  }
  Model(const CompiledGraph& graph, const std::string& weights_path) : Model(graph) { load_weights(weights_path); }

  Model(Model&&) = default;
  Model& operator=(Model&&) = default;
  Model(const Model&) = delete;             // Halide buffers would share storage
  Model& operator=(const Model&) = delete;

  const CompiledGraph& graph() const { return *graph_; }
  int64_t image_size() const { return graph_->channels * graph_->height * graph_->width; }

  // Threads of the pipelines, for the whole program (default: every core).
  static void set_threads(int threads) { halide_set_num_threads(threads); }

  // Every parameter from a safetensors file (exactly the graph's tensors,
  // F32, finite); on an InvalidInput the parameters are unchanged.
  void load_weights(const std::string& path) {
    std::vector<std::vector<float>> values = detail::read_weights(path, graph_->params);
    for (size_t k = 0; k < values.size(); ++k)
      std::copy(values[k].begin(), values[k].end(), params_[k].writable_data());
  }

  // Parameter k of graph().params, PyTorch layout, row-major, for reading
  // and writing until the next call of the model.
  float* parameter(size_t k) {
    params_.at(k).host_data();
    return params_[k].writable_data();
  }

  // Writes the parameters as safetensors (as netc does: tensors in name
  // order), to a temporary file renamed into place.
  void save_weights(const std::string& path) const {
    std::map<std::string, std::vector<int64_t>> shapes;
    std::map<std::string, size_t> order;
    for (size_t k = 0; k < graph_->params.size(); ++k) {
      shapes[graph_->params[k].name] = graph_->params[k].shape;
      order[graph_->params[k].name] = k;
    }
    const std::string partial = path + ".partial";
    {
      std::ofstream out(partial, std::ios::binary | std::ios::trunc);
      out << safetensors::file_header(shapes, {{"format", "pt"}});
      for (const auto& [name, k] : order)
        out.write(reinterpret_cast<const char*>(params_[k].host_data()), std::streamsize(params_[k].size_in_bytes()));
      if (!out.flush()) throw std::runtime_error("cannot write " + partial);
    }
    if (std::rename(partial.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot write " + path);
  }

  // Scores of n images: n x classes, row-major.
  std::vector<float> logits(const float* images, int64_t n) {
    std::vector<float> all(size_t(std::max<int64_t>(n, 0) * graph_->classes));
    for_each_batch(images, nullptr, n, [&](int64_t first, int64_t count) {
      const float* logits = logits_.host_data();
      std::copy(logits, logits + count * graph_->classes, all.begin() + first * graph_->classes);
    });
    return all;
  }

  // The predicted class of each of n images.
  std::vector<int32_t> classify(const float* images, int64_t n) { return run(images, nullptr, n).predictions; }

  // Predictions, accuracy and mean loss of n labelled images.
  Evaluation evaluate(const float* images, const int32_t* labels, int64_t n) {
    for (int64_t k = 0; k < n; ++k)
      if (labels[k] < 0 || labels[k] >= graph_->classes)
        throw InvalidInput("label " + std::to_string(labels[k]) + " of image " + std::to_string(k) + " is not a class (0.." +
                         std::to_string(graph_->classes - 1) + ")");
    return run(images, labels, n);
  }

  // One step of `optimizer` on exactly graph().batch images; returns the
  // batch's mean loss (before the update). The optimizer's state (momentum
  // buffers; Adam's moments) starts at zero, and Adam's bias correction
  // counts the steps taken. Its type must be one the graph was compiled for:
  // SGD, or Adam and AdamW (the graph's optimizer decides). `optimizer.lr`
  // may change from step to step (a schedule).
  float train_step(const float* images, const int32_t* labels, const OptimizerSettings& optimizer = {}) {
    const int64_t batch = graph_->batch;
    if (update_rule(optimizer.type) != graph_->update)
      throw InvalidInput(std::string("train_step: the graph was compiled for ") + update_rule_name(graph_->update) +
                         ", not " + optimizer_name(optimizer.type));
    for (int64_t k = 0; k < batch; ++k)
      if (labels[k] < 0 || labels[k] >= graph_->classes) throw InvalidInput("train_step: a label is not a class");
    const size_t slot_count = update_slots(graph_->update).size();
    if (slots_.empty()) {
      slots_.resize(slot_count);
      next_slots_.resize(slot_count);
      for (const ParameterSpec& p : graph_->params) {
        next_params_.emplace_back(extents(p.shape));  // outputs: never written by the host
        for (size_t s = 0; s < slot_count; ++s) {
          slots_[s].push_back(tensor(p.shape));
          next_slots_[s].emplace_back(extents(p.shape));
        }
      }
    }
    std::copy(images, images + batch * image_size(), images_.writable_data());
    std::copy(labels, labels + batch, labels_.writable_data());
    FloatBuffer loss(std::vector<int>{});
    StepScalars scalars = step_scalars(optimizer, optimizer.lr, steps_ + 1);
    std::vector<void*> args = train_step_arguments(graph_->update, images_.raw_buffer(), labels_.raw_buffer(), scalars,
                                                   raw(params_), raw(slots_), loss.raw_buffer(), raw(next_params_),
                                                   raw(next_slots_));
    call(graph_->train_step, args, "train step");
    ++steps_;
    std::swap(params_, next_params_);
    std::swap(slots_, next_slots_);
    return *loss.host_data();
  }

 private:
  using FloatBuffer = detail::Tensor<float>;

  // Halide's extents of PyTorch shape `shape` (the dimensions reversed).
  static std::vector<int> extents(const std::vector<int64_t>& shape) { return {shape.rbegin(), shape.rend()}; }

  // A tensor of PyTorch shape `shape`, zeroed by the host.
  static FloatBuffer tensor(const std::vector<int64_t>& shape) {
    FloatBuffer b(extents(shape));
    std::fill_n(b.writable_data(), b.number_of_elements(), 0.0f);
    return b;
  }

  static std::vector<halide_buffer_t*> raw(std::vector<FloatBuffer>& buffers) {
    std::vector<halide_buffer_t*> raw;
    for (FloatBuffer& b : buffers) raw.push_back(b.raw_buffer());
    return raw;
  }
  static std::vector<std::vector<halide_buffer_t*>> raw(std::vector<std::vector<FloatBuffer>>& slots) {
    std::vector<std::vector<halide_buffer_t*>> raw_slots;
    for (std::vector<FloatBuffer>& slot : slots) raw_slots.push_back(raw(slot));
    return raw_slots;
  }

  void call(int (*pipeline)(void**), std::vector<void*>& args, const char* what) {
    detail::halide_messages().clear();
    detail::check_halide(pipeline(args.data()), graph_->name + ": the " + what);
  }

  Evaluation run(const float* images, const int32_t* labels, int64_t n) {
    Evaluation e;
    e.predictions.resize(size_t(std::max<int64_t>(n, 0)));
    for_each_batch(images, labels, n, [&](int64_t first, int64_t count) {
      const float *logits = logits_.host_data(), *losses = losses_.host_data();
      for (int64_t k = 0; k < count; ++k) {
        const float* row = logits + k * graph_->classes;
        const int32_t best = int32_t(std::max_element(row, row + graph_->classes) - row);  // the first maximum
        e.predictions[size_t(first + k)] = best;
        if (labels) {
          e.loss += losses[k];
          e.correct += best == labels[first + k];
        }
      }
    });
    if (n > 0) e.loss /= double(n);
    return e;
  }

  // Runs inference on n images, graph().batch at a time, the last batch
  // filled up with copies of its last image (as `netc eval`), and calls
  // visit(first, count) after each with logits_ and losses_ holding its
  // results. Without labels the losses are those of class 0.
  template <typename Visit>
  void for_each_batch(const float* images, const int32_t* labels, int64_t n, Visit visit) {
    if (n < 0) throw InvalidInput("a negative number of images");
    const int64_t batch = graph_->batch, size = image_size();
    for (int64_t first = 0; first < n; first += batch) {
      const int64_t count = std::min(batch, n - first);
      float* batch_images = images_.writable_data();
      int32_t* batch_labels = labels_.writable_data();
      for (int64_t k = 0; k < batch; ++k) {
        const int64_t source = first + std::min(k, count - 1);
        std::copy(images + source * size, images + (source + 1) * size, batch_images + k * size);
        batch_labels[k] = labels ? labels[source] : 0;
      }
      std::vector<void*> args = inference_arguments(images_.raw_buffer(), labels_.raw_buffer(), raw(params_),
                                                    logits_.raw_buffer(), losses_.raw_buffer());
      call(graph_->inference, args, "inference");
      visit(first, count);
    }
  }

  const CompiledGraph* graph_;
  // Mutable: save_weights may need to copy them back from the GPU.
  mutable std::vector<FloatBuffer> params_;
  std::vector<FloatBuffer> next_params_;
  // slots_[s][k]: slot s of parameter k (model_abi.h's update_slots).
  std::vector<std::vector<FloatBuffer>> slots_, next_slots_;
  int64_t steps_ = 0;  // train_step calls so far
  FloatBuffer images_;
  detail::Tensor<int32_t> labels_;
  FloatBuffer logits_, losses_;
};

}  // namespace netc

// A compiled model (a folder made by the compiler: model.so, manifest.json
// and manifest.sha256), loaded and called without Halide: the runtime only knows the calling
// convention of model_abi.h and the parameters the manifest lists, never
// which ops the graph has.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "aligned.h"
#include "model_abi.h"

namespace netc {

inline constexpr const char* kManifestFormat = "netc-model/4";
// The largest compiled library (model.so, or netc compile's static library) read to check its SHA-256.
inline constexpr uint64_t kMaxLibraryBytes = uint64_t(4) << 30;

struct Manifest {
  std::string graph, target, train_step, inference, library;
  std::string library_sha256;  // of the file `library`, checked before it is loaded
  std::string halide_target;  // what the code was compiled for (runtime/host_target.h)
  std::string gather;         // the batch gatherer of a GPU target; empty on the host
  // The train step's halves of a data-parallel or micro-batched model
  // (model_abi.h's gradients_arguments, update_arguments); empty in others.
  std::string gradients, update_step;
  // When not 0: the gradients run on micro-batches of this many images (a
  // divisor of `batch`), and `train_step` is empty (BuildOptions::micro_batch).
  int64_t micro_batch = 0;
  UpdateRule update = UpdateRule::Sgd;  // of the train step: which scalars and slots it takes
  int64_t batch = 0, classes = 0;
  std::vector<int64_t> input;   // C, H, W
  std::vector<ParameterSpec> params;
  // Floating-point operations of one call (0 when the compiler did not say).
  int64_t train_step_flops = 0, inference_flops = 0;
  // The machine probe compiled with the pipelines (empty when absent).
  std::string peak_probe;
  int64_t peak_probe_flops_per_iteration = 0;
  std::vector<int> peak_probe_output;  // its output's extents

  int64_t image_size() const { return input.at(0) * input.at(1) * input.at(2); }
  // Images per call of the gradients pipeline.
  int64_t gradients_batch() const { return micro_batch ? micro_batch : batch; }
  bool on_gpu() const { return target != "host"; }
  // Reads dir/manifest.json; throws std::runtime_error when it is unusable.
  static Manifest read(const std::string& dir);
  // What read() reads back: the text of manifest.json.
  std::string text() const;
};

// Writes dir/manifest.json and dir/manifest.sha256, its SHA-256, which
// compiled_model_is_valid() checks it against.
void write_manifest(const std::string& dir, const Manifest& manifest);

// Whether `dir` holds a complete, unchanged compiled model: manifest.json
// matches manifest.sha256, and the library the SHA-256 in the manifest; if
// not, why. The digests detect damage and stray edits (a changed batch size),
// not a forger who rewrites them too: the cache folder is trusted as much as
// the code in it.
bool compiled_model_is_valid(const std::string& dir, std::string* why);

// Whether netc compile may replace the existing folder `dir` without losing
// anything: it is empty, or an earlier output of netc compile (manifest.json
// and nothing but the names netc compile writes; a compile-cache entry holds
// model.so, which it does not). If not, why.
bool compile_output_is_replaceable(const std::string& dir, std::string* why);

// Where a profiled pipeline spent its time (Halide's sampling profiler).
struct StageTime {
  std::string name;  // the Func's name: a stage ("cnn2.forward") or a copy Halide made of one
  double ms = 0;     // per call
};

class CompiledModel {
 public:
  explicit CompiledModel(const std::string& dir);
  ~CompiledModel();
  CompiledModel(const CompiledModel&) = delete;
  CompiledModel& operator=(const CompiledModel&) = delete;

  const Manifest& manifest() const { return manifest_; }
  void set_threads(int threads);

  // One optimizer step on a batch in host memory (a host target's model
  // only): images (batch x C x H x W), labels (batch), the step's scalars
  // for the manifest's update rule. Reads params and slots (slots[s][k]:
  // slot s of parameter k, model_abi.h's update_slots), writes the updated
  // values to params_out and slots_out (which must not alias the inputs).
  // Returns the batch's mean loss.
  float train_step(const float* images, const int32_t* labels, const StepScalars& scalars,
                   const std::vector<const float*>& params, const std::vector<std::vector<const float*>>& slots,
                   const std::vector<float*>& params_out, const std::vector<std::vector<float*>>& slots_out);

  // The train step in two halves, on a data-parallel model
  // (has_split_step()), in host memory: the batch's mean loss and each
  // parameter's gradient into grads; then the update of params and slots from
  // grads, as train_step's. train_step(...) is update(gradients(...)) up to
  // float rounding. A micro-batched model's gradients are the mean of its
  // micro-batches' (each a mean over its images), as is its loss.
  bool has_split_step() const { return gradients_ != nullptr; }
  float gradients(const float* images, const int32_t* labels, const std::vector<const float*>& params,
                  const std::vector<float*>& grads);
  void update(const StepScalars& scalars, const std::vector<const float*>& params,
              const std::vector<std::vector<const float*>>& slots, const std::vector<const float*>& grads,
              const std::vector<float*>& params_out, const std::vector<std::vector<float*>>& slots_out);

  // Logits (batch x classes) and each image's loss (batch), in host memory
  // (a host target's model only).
  void infer(const float* images, const int32_t* labels, const std::vector<const float*>& params, float* logits,
             float* losses);

  // GFLOP/s of the peak probe, run with the current thread count.
  double measure_peak_gflops();

  // Whether the pipelines were compiled with Halide's profiler.
  bool profiled() const;
  // Keeps the profiler's report off stderr at exit.
  void quiet_profile();
  // Forgets what the profiler has gathered so far.
  void reset_profile();
  // The time per call of each stage of `function` (manifest().train_step or
  // .inference) since the last reset, longest first.
  std::vector<StageTime> stage_times(const std::string& function) const;
  // The same per train_step() call: the fused step's, or a micro-batched
  // model's gradients (times its micro-batches) and update stages.
  std::vector<StageTime> train_step_stage_times() const;

  // The pipelines' own entry points (arguments as model_abi.h builds them:
  // halide_buffer_t pointers and scalars), for callers that keep their
  // buffers on a GPU (runtime/device_training.h). A failure throws
  // std::runtime_error with Halide's message.
  enum class Pipeline { TrainStep, Inference, Gather, Gradients, Update };
  void call(Pipeline pipeline, std::vector<void*>& args) const;
  // A function of the Halide runtime inside model.so, or nullptr.
  void* runtime_function(const std::string& name) const;
  // Throws std::runtime_error "<what> failed: <Halide's last message>" if `error` is not 0.
  void check(int error, const std::string& what) const;

 private:
  using Argv = int (*)(void**);
  Argv lookup(const std::string& function, size_t expected_args);
  void require_host_model() const;
  // One call of the gradients pipeline on manifest().gradients_batch() images.
  float gradients_of(const float* images, const int32_t* labels, const std::vector<const float*>& params,
                     const std::vector<float*>& grads);

  Manifest manifest_;
  void* library_ = nullptr;
  Argv train_step_ = nullptr, inference_ = nullptr, gather_ = nullptr, gradients_ = nullptr, update_ = nullptr;
  // A micro-batched step's gradients (one micro-batch's, and their mean),
  // and a micro-batch copied where the pipelines' alignment needs it.
  std::vector<AlignedVector<float>> micro_grads_, summed_grads_;
  AlignedVector<float> micro_images_;
  AlignedVector<int32_t> micro_labels_;
};

}  // namespace netc

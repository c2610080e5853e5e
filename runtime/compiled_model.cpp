#include "compiled_model.h"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "HalideBuffer.h"
#include "aligned.h"
#include "HalideRuntime.h"
#include "cuda_driver.h"
#include "atomic_file.h"
#include "sha256.h"
#include "thread_pool.h"

namespace fs = std::filesystem;

namespace netc {
namespace {

using FloatBuffer = Halide::Runtime::Buffer<float>;

std::vector<int> reversed(const std::vector<int64_t>& shape) {
  return std::vector<int>(shape.rbegin(), shape.rend());
}

// A Halide view of `data` in PyTorch layout `shape` (no copy).
template <typename T>
Halide::Runtime::Buffer<T> view(const T* data, const std::vector<int64_t>& shape) {
  if (!is_aligned(data)) throw std::logic_error("a buffer passed to a compiled pipeline is not 128-byte aligned");
  return Halide::Runtime::Buffer<T>(const_cast<T*>(data), reversed(shape));
}

// The pipelines' intermediate buffers, kept across calls: a training step
// allocates the same sizes every time, and freeing and re-faulting ~15 MB of
// buffers per step costs several ms. Blocks are 128-byte aligned, which also
// covers AVX-512 aligned loads (Halide 14's own malloc aligns to 32 only).
class BufferPool {
 public:
  void* allocate(size_t size) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.find(size);
    if (it != free_.end()) {
      void* p = it->second;
      free_.erase(it);
      sizes_[p] = size;
      return p;
    }
    void* p = std::aligned_alloc(kAlignment, (size + kAlignment - 1) / kAlignment * kAlignment);
    if (p) sizes_[p] = size;
    return p;
  }

  void release(void* p) {
    if (!p) return;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sizes_.find(p);
    free_.emplace(it->second, p);
    sizes_.erase(it);
  }

 private:
  static constexpr size_t kAlignment = 128;
  std::mutex mutex_;
  std::multimap<size_t, void*> free_;
  std::map<void*, size_t> sizes_;
};

BufferPool& buffer_pool() {
  static BufferPool* pool = new BufferPool;  // never destroyed: libraries may free into it at exit
  return *pool;
}

// Views of one value per parameter of `m` (parameters, momenta or outputs).
class ParameterViews {
 public:
  template <typename T>
  ParameterViews(const Manifest& m, const std::vector<T*>& values) {
    views_.reserve(m.params.size());  // raw_ points into the views: they must never move
    for (size_t k = 0; k < m.params.size(); ++k) {
      views_.push_back(view<float>(values[k], m.params[k].shape));
      raw_.push_back(views_.back().raw_buffer());
    }
  }
  ParameterViews(const ParameterViews&) = delete;
  ParameterViews& operator=(const ParameterViews&) = delete;
  const std::vector<halide_buffer_t*>& raw() const { return raw_; }

 private:
  std::vector<FloatBuffer> views_;
  std::vector<halide_buffer_t*> raw_;
};

// The views of every optimizer slot's values, read and written, for the
// update rule of `m` (`what` names the caller in the error for a wrong count).
class SlotViews {
 public:
  SlotViews(const Manifest& m, const std::vector<std::vector<const float*>>& slots,
            const std::vector<std::vector<float*>>& slots_out, const char* what) {
    if (slots.size() != update_slots(m.update).size() || slots_out.size() != slots.size())
      throw std::logic_error(fmt::format("{}: {} slots per parameter passed, the {} update takes {}", what,
                                         slots.size(), update_rule_name(m.update), update_slots(m.update).size()));
    for (size_t s = 0; s < slots.size(); ++s) {
      views_.push_back(std::make_unique<ParameterViews>(m, slots[s]));
      in.push_back(views_.back()->raw());
      views_.push_back(std::make_unique<ParameterViews>(m, slots_out[s]));
      out.push_back(views_.back()->raw());
    }
  }
  std::vector<std::vector<halide_buffer_t*>> in, out;

 private:
  std::vector<std::unique_ptr<ParameterViews>> views_;  // never move: raw() points into them
};

void* pool_malloc(void*, size_t size) { return buffer_pool().allocate(size); }
void pool_free(void*, void* p) { buffer_pool().release(p); }

// A Func's name in stage names: "cnn2__forward$1" is cnn2.forward, and
// "cnn1__forward$2_global_wrapper$0" the copy a schedule made of it (the
// compiler turns '.' into "__"; Halide appends "$k" to make names unique).
std::string stage_name(const std::string& func) {
  std::string name;
  for (size_t i = 0; i < func.size(); ++i) {
    if (func[i] == '$') {
      while (i + 1 < func.size() && std::isdigit(static_cast<unsigned char>(func[i + 1]))) ++i;
    } else if (func.compare(i, 2, "__") == 0) {
      name += '.';
      ++i;
    } else {
      name += func[i];
    }
  }
  return name;
}

// Halide's runtime reports a failure's reason through its error handler, then
// returns an error code; the handler keeps the reason for the exception.
thread_local std::string last_halide_error;
void keep_halide_error(void*, const char* message) { last_halide_error = message; }

constexpr const char* kManifestDigestFile = "manifest.sha256";
constexpr uint64_t kMaxManifestBytes = uint64_t(16) << 20;

// What netc compile writes at the top of its folder (aot/export.h).
const std::set<std::string> kCompileOutputNames = {"manifest.json", kManifestDigestFile, "include", "lib"};

std::string read_manifest_text(const std::string& dir) {
  return read_file(dir + "/manifest.json", kMaxManifestBytes, "manifest");
}

Manifest parse_manifest(const std::string& text, const std::string& dir) {
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    if (j.at("format") != kManifestFormat)
      throw std::runtime_error(fmt::format("format {} is not {}", j.at("format").dump(), kManifestFormat));
    Manifest m;
    j.at("graph").get_to(m.graph);
    j.at("target").get_to(m.target);
    j.at("train_step").get_to(m.train_step);
    if (j.contains("micro_batch")) j.at("micro_batch").get_to(m.micro_batch);
    j.at("inference").get_to(m.inference);
    j.at("library").get_to(m.library);
    j.at("library_sha256").get_to(m.library_sha256);
    j.at("halide_target").get_to(m.halide_target);
    if (!parse_update_rule(j.at("update").get<std::string>(), &m.update))
      throw std::runtime_error(fmt::format("update {} is not sgd or adam", j.at("update").dump()));
    if (j.contains("gather")) j.at("gather").get_to(m.gather);
    if (j.contains("gradients")) j.at("gradients").get_to(m.gradients);
    if (j.contains("update_step")) j.at("update_step").get_to(m.update_step);
    j.at("batch").get_to(m.batch);
    j.at("classes").get_to(m.classes);
    j.at("input").get_to(m.input);
    for (const auto& p : j.at("params"))
      m.params.push_back({p.at("name").get<std::string>(), p.at("shape").get<std::vector<int64_t>>(),
                          p.at("fan_in").get<int64_t>()});
    if (j.contains("flops")) {
      j.at("flops").at("train_step").get_to(m.train_step_flops);
      j.at("flops").at("inference").get_to(m.inference_flops);
    }
    if (j.contains("peak_probe")) {
      j.at("peak_probe").at("function").get_to(m.peak_probe);
      j.at("peak_probe").at("flops_per_iteration").get_to(m.peak_probe_flops_per_iteration);
      j.at("peak_probe").at("output").get_to(m.peak_probe_output);
    }
    if (m.input.size() != 3 || m.batch < 1 || m.classes < 1) throw std::runtime_error("bad shapes");
    if (m.micro_batch < 0 || (m.micro_batch && (m.batch % m.micro_batch || m.gradients.empty() || m.update_step.empty())))
      throw std::runtime_error("a micro-batch must divide the batch, with the step's halves");
    if (m.train_step.empty() != (m.micro_batch > 0))
      throw std::runtime_error("a model has a fused train step unless it is micro-batched");
    return m;
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{}/manifest.json is malformed: {}", dir, e.what()));
  }
}

}  // namespace

Manifest Manifest::read(const std::string& dir) { return parse_manifest(read_manifest_text(dir), dir); }

std::string Manifest::text() const {
  nlohmann::json params = nlohmann::json::array();
  for (const ParameterSpec& p : this->params)
    params.push_back({{"name", p.name}, {"shape", p.shape}, {"fan_in", p.fan_in}});
  nlohmann::json j = {{"format", kManifestFormat},
                      {"graph", graph},
                      {"target", target},
                      {"halide_target", halide_target},
                      {"update", update_rule_name(update)},
                      {"batch", batch},
                      {"input", input},
                      {"classes", classes},
                      {"params", params},
                      {"train_step", train_step},
                      {"inference", inference},
                      {"flops", {{"train_step", train_step_flops}, {"inference", inference_flops}}},
                      {"library", library},
                      {"library_sha256", library_sha256}};
  if (!gather.empty()) j["gather"] = gather;
  if (!gradients.empty()) j["gradients"] = gradients;
  if (!update_step.empty()) j["update_step"] = update_step;
  if (micro_batch) j["micro_batch"] = micro_batch;
  if (!peak_probe.empty())
    j["peak_probe"] = {{"function", peak_probe},
                       {"flops_per_iteration", peak_probe_flops_per_iteration},
                       {"output", peak_probe_output}};
  return j.dump(2) + "\n";
}

void write_manifest(const std::string& dir, const Manifest& manifest) {
  const std::string text = manifest.text();
  write_file_atomically(dir + "/manifest.json", text);
  write_file_atomically(dir + "/" + kManifestDigestFile, sha256_hex(text) + "\n");
}

bool compiled_model_is_valid(const std::string& dir, std::string* why) {
  try {
    const std::string text = read_manifest_text(dir);
    if (read_file(dir + "/" + kManifestDigestFile, 4096) != sha256_hex(text) + "\n") {
      *why = fmt::format("manifest.json does not match its SHA-256 in {}", kManifestDigestFile);
      return false;
    }
    const Manifest m = parse_manifest(text, dir);
    if (file_sha256(dir + "/" + m.library, kMaxLibraryBytes) != m.library_sha256) {
      *why = m.library + " does not match its SHA-256 in manifest.json";
      return false;
    }
    return true;
  } catch (const std::exception& e) {
    *why = e.what();
    return false;
  }
}

bool compile_output_is_replaceable(const std::string& dir, std::string* why) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    *why = "it is not a folder";
    return false;
  }
  bool has_manifest = false;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!kCompileOutputNames.count(name)) {
      *why = fmt::format("it holds {}, which netc compile does not write", name);
      return false;
    }
    has_manifest = has_manifest || name == "manifest.json";
  }
  if (!has_manifest && !fs::is_empty(dir)) *why = "it has no manifest.json";
  return has_manifest || fs::is_empty(dir);
}

CompiledModel::CompiledModel(const std::string& dir) {
  std::string why;
  if (!compiled_model_is_valid(dir, &why)) throw std::runtime_error(fmt::format("cannot load {}: {}", dir, why));
  manifest_ = Manifest::read(dir);
  // netc compile's GPU libraries have none: netc::Model passes whole batches.
  if (manifest_.on_gpu() && manifest_.gather.empty())
    throw std::runtime_error(fmt::format("cannot load {}: a GPU model without a batch gatherer", dir));
  if (manifest_.on_gpu()) require_cuda_device();
  std::string path = dir + "/" + manifest_.library;
  library_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library_) throw std::runtime_error(fmt::format("cannot load {}: {}", path, dlerror()));
  const size_t params = manifest_.params.size();
  if (!manifest_.micro_batch) train_step_ = lookup(manifest_.train_step, train_step_argument_count(manifest_.update, params));
  inference_ = lookup(manifest_.inference, inference_argument_count(params));
  if (manifest_.on_gpu()) gather_ = lookup(manifest_.gather, kGatherArgumentCount);
  if (!manifest_.gradients.empty()) {
    gradients_ = lookup(manifest_.gradients, gradients_argument_count(params));
    update_ = lookup(manifest_.update_step, update_argument_count(manifest_.update, params));
  }
  using SetMalloc = halide_malloc_t (*)(halide_malloc_t);
  using SetFree = halide_free_t (*)(halide_free_t);
  using SetErrorHandler = halide_error_handler_t (*)(halide_error_handler_t);
  using SetDoParFor = halide_do_par_for_t (*)(halide_do_par_for_t);
  auto set_malloc = reinterpret_cast<SetMalloc>(runtime_function("halide_set_custom_malloc"));
  auto set_free = reinterpret_cast<SetFree>(runtime_function("halide_set_custom_free"));
  auto set_error_handler = reinterpret_cast<SetErrorHandler>(runtime_function("halide_set_error_handler"));
  auto set_do_par_for = reinterpret_cast<SetDoParFor>(runtime_function("halide_set_custom_do_par_for"));
  if (!set_malloc || !set_free || !set_error_handler || !set_do_par_for)
    throw std::runtime_error(path + " has no Halide runtime");
  set_malloc(pool_malloc);
  set_free(pool_free);
  set_error_handler(keep_halide_error);
  set_do_par_for(pool_do_par_for);
}

CompiledModel::~CompiledModel() {
  if (library_) dlclose(library_);
}

CompiledModel::Argv CompiledModel::lookup(const std::string& function, size_t expected_args) {
  auto argv = reinterpret_cast<Argv>(dlsym(library_, (function + "_argv").c_str()));
  auto metadata = reinterpret_cast<const halide_filter_metadata_t* (*)()>(dlsym(library_, (function + "_metadata").c_str()));
  if (!argv || !metadata) throw std::runtime_error(fmt::format("{} is missing from {}", function, manifest_.library));
  if (size_t(metadata()->num_arguments) != expected_args)
    throw std::runtime_error(fmt::format("{} takes {} arguments, the manifest implies {}", function,
                                         metadata()->num_arguments, expected_args));
  return argv;
}

void* CompiledModel::runtime_function(const std::string& name) const { return dlsym(library_, name.c_str()); }

void CompiledModel::check(int error, const std::string& what) const {
  if (error == 0) return;
  std::string reason = last_halide_error.empty() ? fmt::format("Halide error {}", error) : last_halide_error;
  last_halide_error.clear();
  while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
  throw std::runtime_error(fmt::format("{} failed: {}", what, reason));
}

void CompiledModel::call(Pipeline pipeline, std::vector<void*>& args) const {
  switch (pipeline) {
    case Pipeline::TrainStep: return check(train_step_(args.data()), "the train step");
    case Pipeline::Inference: return check(inference_(args.data()), "inference");
    case Pipeline::Gather:
      if (!gather_) throw std::logic_error(manifest_.library + " has no batch gatherer");
      return check(gather_(args.data()), "gathering a batch");
    case Pipeline::Gradients:
    case Pipeline::Update:
      if (!gradients_) throw std::logic_error(manifest_.library + " was not compiled for data-parallel training");
      return pipeline == Pipeline::Gradients ? check(gradients_(args.data()), "the gradients")
                                             : check(update_(args.data()), "the update");
  }
}

void CompiledModel::require_host_model() const {
  // A GPU pipeline leaves its outputs on the device: host pointers would not see them.
  if (manifest_.on_gpu()) throw std::logic_error("host buffers passed to a model compiled for " + manifest_.target);
}

void CompiledModel::set_threads(int threads) { set_pool_threads(threads); }

float CompiledModel::train_step(const float* images, const int32_t* labels, const StepScalars& scalars,
                                const std::vector<const float*>& params,
                                const std::vector<std::vector<const float*>>& slots,
                                const std::vector<float*>& params_out,
                                const std::vector<std::vector<float*>>& slots_out) {
  const Manifest& m = manifest_;
  require_host_model();
  if (m.micro_batch) {
    std::vector<float*> grads;
    summed_grads_.resize(m.params.size());
    for (size_t k = 0; k < m.params.size(); ++k) {
      summed_grads_[k].resize(size_t(m.params[k].size()));
      grads.push_back(summed_grads_[k].data());
    }
    const float loss = gradients(images, labels, params, grads);
    update(scalars, params, slots, std::vector<const float*>(grads.begin(), grads.end()), params_out, slots_out);
    return loss;
  }
  FloatBuffer image_buf = view(images, {m.batch, m.input[0], m.input[1], m.input[2]});
  Halide::Runtime::Buffer<int32_t> label_buf = view(labels, {m.batch});
  alignas(kBufferAlignment) float loss = 0;
  FloatBuffer loss_buf = FloatBuffer::make_scalar(&loss);
  ParameterViews param_bufs(m, params), param_out_bufs(m, params_out);
  const SlotViews slot_bufs(m, slots, slots_out, "train_step");
  StepScalars s = scalars;
  std::vector<void*> args = train_step_arguments(m.update, image_buf.raw_buffer(), label_buf.raw_buffer(), s,
                                                 param_bufs.raw(), slot_bufs.in, loss_buf.raw_buffer(),
                                                 param_out_bufs.raw(), slot_bufs.out);
  call(Pipeline::TrainStep, args);
  return loss;
}

float CompiledModel::gradients(const float* images, const int32_t* labels, const std::vector<const float*>& params,
                               const std::vector<float*>& grads) {
  const Manifest& m = manifest_;
  require_host_model();
  if (!m.micro_batch) return gradients_of(images, labels, params, grads);
  // The mean over the batch is the mean of the micro-batches' means: they
  // have the same number of images.
  const int64_t parts = m.batch / m.micro_batch;
  const float share = 1.0f / float(parts);
  std::vector<float*> part_grads;
  micro_grads_.resize(m.params.size());
  for (size_t k = 0; k < m.params.size(); ++k) {
    micro_grads_[k].resize(size_t(m.params[k].size()));
    part_grads.push_back(micro_grads_[k].data());
    std::fill(grads[k], grads[k] + m.params[k].size(), 0.0f);
  }
  double loss = 0;
  for (int64_t part = 0; part < parts; ++part) {
    const int64_t first = part * m.micro_batch;
    const float* part_images = images + first * m.image_size();
    const int32_t* part_labels = labels + first;
    if (!is_aligned(part_images) || !is_aligned(part_labels)) {  // (a micro-batch of 125 MNIST images is not)
      micro_images_.assign(part_images, part_images + m.micro_batch * m.image_size());
      micro_labels_.assign(part_labels, part_labels + m.micro_batch);
      part_images = micro_images_.data();
      part_labels = micro_labels_.data();
    }
    loss += gradients_of(part_images, part_labels, params, part_grads);
    for (size_t k = 0; k < m.params.size(); ++k)
      for (size_t i = 0; i < micro_grads_[k].size(); ++i) grads[k][i] += share * micro_grads_[k][i];
  }
  return float(loss / double(parts));
}

float CompiledModel::gradients_of(const float* images, const int32_t* labels, const std::vector<const float*>& params,
                                  const std::vector<float*>& grads) {
  const Manifest& m = manifest_;
  const int64_t batch = m.gradients_batch();
  FloatBuffer image_buf = view(images, {batch, m.input[0], m.input[1], m.input[2]});
  Halide::Runtime::Buffer<int32_t> label_buf = view(labels, {batch});
  alignas(kBufferAlignment) float loss = 0;
  FloatBuffer loss_buf = FloatBuffer::make_scalar(&loss);
  ParameterViews param_bufs(m, params), grad_bufs(m, grads);
  std::vector<void*> args = gradients_arguments(image_buf.raw_buffer(), label_buf.raw_buffer(), param_bufs.raw(),
                                                loss_buf.raw_buffer(), grad_bufs.raw());
  call(Pipeline::Gradients, args);
  return loss;
}

void CompiledModel::update(const StepScalars& scalars, const std::vector<const float*>& params,
                           const std::vector<std::vector<const float*>>& slots, const std::vector<const float*>& grads,
                           const std::vector<float*>& params_out, const std::vector<std::vector<float*>>& slots_out) {
  const Manifest& m = manifest_;
  require_host_model();
  ParameterViews param_bufs(m, params), grad_bufs(m, grads), param_out_bufs(m, params_out);
  const SlotViews slot_bufs(m, slots, slots_out, "update");
  StepScalars s = scalars;
  std::vector<void*> args = update_arguments(m.update, s, param_bufs.raw(), slot_bufs.in, grad_bufs.raw(),
                                             param_out_bufs.raw(), slot_bufs.out);
  call(Pipeline::Update, args);
}

void CompiledModel::infer(const float* images, const int32_t* labels, const std::vector<const float*>& params,
                          float* logits, float* losses) {
  const Manifest& m = manifest_;
  require_host_model();
  FloatBuffer image_buf = view(images, {m.batch, m.input[0], m.input[1], m.input[2]});
  Halide::Runtime::Buffer<int32_t> label_buf = view(labels, {m.batch});
  ParameterViews param_bufs(m, params);
  FloatBuffer logit_buf = view(logits, {m.batch, m.classes}), loss_buf = view(losses, {m.batch});
  std::vector<void*> args = inference_arguments(image_buf.raw_buffer(), label_buf.raw_buffer(), param_bufs.raw(),
                                                logit_buf.raw_buffer(), loss_buf.raw_buffer());
  call(Pipeline::Inference, args);
}

double CompiledModel::measure_peak_gflops() {
  if (manifest_.peak_probe.empty()) throw std::runtime_error("this compiled model has no peak probe; recompile it");
  Argv probe = lookup(manifest_.peak_probe, 3);
  // The probe's output: one accumulator per lane, chain and task.
  const std::vector<int>& extents = manifest_.peak_probe_output;
  size_t cells = 1;
  for (int e : extents) cells *= size_t(e);
  AlignedVector<float> out(cells);
  FloatBuffer out_buf(out.data(), extents);
  float zero = 0;
  auto seconds_for = [&](int iterations) {
    void* args[] = {&iterations, &zero, out_buf.raw_buffer()};
    auto start = std::chrono::steady_clock::now();
    if (int err = probe(args)) throw std::runtime_error(fmt::format("the peak probe failed (Halide error {})", err));
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  // Long enough (~50 ms) that starting the thread pool does not count.
  int iterations = 1000;
  while (seconds_for(iterations) < 0.05 && iterations < (1 << 28)) iterations *= 2;
  double best = 1e30;
  for (int run = 0; run < 5; ++run) best = std::min(best, seconds_for(iterations));
  return double(manifest_.peak_probe_flops_per_iteration) * iterations / best * 1e-9;
}

bool CompiledModel::profiled() const { return dlsym(library_, "halide_profiler_get_pipeline_state") != nullptr; }

void CompiledModel::quiet_profile() {
  auto set_print = reinterpret_cast<halide_print_t (*)(halide_print_t)>(dlsym(library_, "halide_set_custom_print"));
  if (set_print) set_print([](void*, const char*) {});
}

void CompiledModel::reset_profile() {
  auto reset = reinterpret_cast<void (*)()>(dlsym(library_, "halide_profiler_reset"));
  if (reset) reset();
}

std::vector<StageTime> CompiledModel::stage_times(const std::string& function) const {
  auto state = reinterpret_cast<halide_profiler_state* (*)()>(dlsym(library_, "halide_profiler_get_state"));
  auto lock = reinterpret_cast<void (*)(halide_mutex*)>(dlsym(library_, "halide_mutex_lock"));
  auto unlock = reinterpret_cast<void (*)(halide_mutex*)>(dlsym(library_, "halide_mutex_unlock"));
  if (!state || !lock || !unlock) throw std::runtime_error("this compiled model was not built with the profiler");
  // The sampling thread updates the stats under the profiler's lock. (The
  // runtime's own lookup by name compares pointers, so walk the list here.)
  halide_profiler_state* s = state();
  lock(&s->lock);
  std::vector<StageTime> times;
  for (auto* p = s->pipelines; p; p = static_cast<halide_profiler_pipeline_stats*>(p->next)) {
    if (!p->name || function != p->name || p->runs == 0) continue;
    for (int f = 0; f < p->num_funcs; ++f) {
      const halide_profiler_func_stats& fs = p->funcs[f];
      if (fs.time == 0 || !fs.name) continue;
      times.push_back({stage_name(fs.name), double(fs.time) / p->runs * 1e-6});
    }
  }
  unlock(&s->lock);
  std::sort(times.begin(), times.end(), [](const StageTime& a, const StageTime& b) { return a.ms > b.ms; });
  return times;
}

std::vector<StageTime> CompiledModel::train_step_stage_times() const {
  const Manifest& m = manifest_;
  if (!m.micro_batch) return stage_times(m.train_step);
  std::vector<StageTime> times = stage_times(m.gradients);
  for (StageTime& t : times) t.ms *= double(m.batch / m.micro_batch);
  for (StageTime& t : stage_times(m.update_step)) times.push_back(t);
  std::sort(times.begin(), times.end(), [](const StageTime& a, const StageTime& b) { return a.ms > b.ms; });
  return times;
}

}  // namespace netc

#include "aot/model_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "Halide.h"
#include "aot/build.h"
#include "atomic_file.h"
#include "compiled_model.h"
#include "fingerprint.h"
#include "lower/pipeline.h"
#include "ops/op.h"
#include "schedule/peak_probe.h"
#include "schedule/schedule.h"

namespace fs = std::filesystem;

namespace netc {

Halide::Target target_for(const std::string& name, bool profile) {
  Halide::Target host = Halide::get_host_target();
  if (profile || std::getenv("NETC_PROFILE")) host = host.with_feature(Halide::Target::Profile);
  if (name == "host") return host;
  throw std::runtime_error(fmt::format("target {} is not supported by this build of netc", name));
}

namespace {

// Everything about the graph that changes the generated code.
std::string canonical_graph(const Graph& g) {
  std::string s = fmt::format("graph {} input {} output {} loss {}\n", g.name, g.input.str(), g.output, g.loss);
  for (const Layer& l : g.layers) {
    s += fmt::format("layer {} op {} out {}{} in", l.name, l.op, l.output.str(), l.output.flat ? " flat" : "");
    for (int in : l.inputs) s += fmt::format(" {}", in);
    for (const auto& [name, v] : l.attrs)
      s += fmt::format(" {}={}/{}/{}x{}/{}/{}/{}", name, int(v.kind), v.i, v.pair.h, v.pair.w, v.f, v.b, v.s);
    s += "\n";
  }
  return s;
}

// This netc build: a rebuilt compiler must not reuse code the old one made.
const std::string& self_fingerprint() {
  static const std::string fp = file_fingerprint("/proc/self/exe");
  return fp;
}

std::string cache_key(const Graph& g, const BuildOptions& o) {
  Fingerprint fp;
  fp.add(canonical_graph(g)).add(std::to_string(o.batch)).add(target_for(o.target, o.profile).to_string());
  fp.add(o.schedule_file.empty() ? std::string("default") : read_file(o.schedule_file, 1 << 20));
  fp.add("halide " NETC_HALIDE_VERSION);
  fp.add(self_fingerprint());
  return fp.hex();
}

}  // namespace

ScheduleFile schedule_of(const BuildOptions& o) {
  return o.schedule_file.empty() ? default_schedule(o.target) : load_schedule(o.schedule_file);
}

ScheduledPipelines scheduled_pipelines(const Graph& graph, const BuildOptions& o, const Halide::Target& target) {
  Scheduler scheduler(schedule_of(o), target);
  ScheduledPipelines p{lower_train_step(graph, o.batch, scheduler.variants()),
                       lower_inference(graph, o.batch, scheduler.variants()),
                       scheduler.file().autoscheduler.has_value()};
  scheduler.apply(p.train);
  scheduler.apply(p.inference);
  scheduler.check_every_rule_used();
  return p;
}

void report_compile_error(const Halide::CompileError& e, const LoweredPipeline& p, const BuildOptions& o,
                          bool autoscheduled) {
  std::string message = fmt::format("{}: Halide cannot compile {} with this schedule: {}",
                                    o.schedule_file.empty() ? "the default schedule" : o.schedule_file,
                                    p.function_name, e.what());
  if (o.schedule_file.empty() || autoscheduled) throw std::runtime_error(message);
  throw InputError(message);
}

namespace {

void compile_pipeline(LoweredPipeline& p, const std::string& object, const Halide::Target& target,
                      const BuildOptions& o, bool autoscheduled) {
  try {
    p.pipeline.compile_to_object(object, p.arguments, p.function_name, target);
  } catch (const Halide::CompileError& e) {
    report_compile_error(e, p, o, autoscheduled);
  }
}

void run_command(const std::string& cmd) {
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("command failed: " + cmd);
}

// Floating-point operations of one call of each pipeline: the ops' main
// products (Op::multiply_adds), with the weight and input gradients of the
// training step costing one forward product each.
nlohmann::json model_flops(const Graph& g, int64_t batch) {
  std::vector<bool> has_params(g.layers.size(), false), needs_grad(g.layers.size(), false);
  for (const ParamSpec& p : g.params) has_params[p.layer] = needs_grad[p.layer] = true;
  int64_t forward = 0, train = 0;
  for (size_t li = 0; li < g.layers.size(); ++li) {
    const Layer& l = g.layers[li];
    std::vector<Shape> inputs;
    bool input_needs_grad = false;
    for (int in : l.inputs) {
      inputs.push_back(in == Layer::kGraphInput ? g.input : g.layers[in].output);
      if (in != Layer::kGraphInput && needs_grad[in]) input_needs_grad = needs_grad[li] = true;
    }
    int64_t flops = 2 * batch * find_op(l.op)->multiply_adds(l, inputs);
    forward += flops;
    train += flops * (1 + int(has_params[li]) + int(input_needs_grad));
  }
  return {{"train_step", train}, {"inference", forward}};
}

}  // namespace

nlohmann::json manifest_json(const Graph& g, const BuildOptions& o, const std::string& train_fn,
                             const std::string& inference_fn, const std::string& library,
                             const std::string& library_fingerprint, const PeakProbe* probe) {
  nlohmann::json params = nlohmann::json::array();
  for (const ParamSpec& p : g.params) params.push_back({{"name", p.name}, {"shape", p.shape}, {"fan_in", p.fan_in}});
  nlohmann::json manifest = {{"format", kManifestFormat},
          {"graph", g.name},
          {"target", o.target},
          {"batch", o.batch},
          {"input", g.input.dims()},
          {"classes", g.num_classes()},
          {"params", params},
          {"train_step", train_fn},
          {"inference", inference_fn},
          {"flops", model_flops(g, o.batch)},
          {"library", library},
          {"library_fingerprint", library_fingerprint}};
  if (probe)
    manifest["peak_probe"] = {{"function", probe->function_name},
                              {"flops_per_iteration", probe->flops_per_iteration},
                              {"output", probe->output_extents}};
  return manifest;
}

namespace {

// Compiles `graph` into `folder` (which must not exist): model.so and its
// manifest. On failure nothing of the folder is left behind.
void compile_model(const Graph& graph, const BuildOptions& options, const std::string& folder) {
  fs::create_directories(folder);
  try {
    Halide::Target target = target_for(options.target, options.profile);
    auto [train, inference, autoscheduled] = scheduled_pipelines(graph, options, target);
    Halide::Target no_runtime = target.with_feature(Halide::Target::NoRuntime);
    compile_pipeline(train, folder + "/train_step.o", no_runtime, options, autoscheduled);
    compile_pipeline(inference, folder + "/inference.o", no_runtime, options, autoscheduled);
    PeakProbe probe = lower_peak_probe(target);
    probe.pipeline.compile_to_object(folder + "/peak_probe.o", probe.arguments, probe.function_name, no_runtime);
    Halide::compile_standalone_runtime(folder + "/runtime.o", target);
    // -Bsymbolic: the pipelines must call their own runtime, never a same-named
    // symbol of the program that loads them.
    const char* cxx = std::getenv("CXX");
    run_command(fmt::format("{} -shared -Wl,-Bsymbolic -o '{}/model.so' '{}/train_step.o' '{}/inference.o' "
                            "'{}/peak_probe.o' '{}/runtime.o' -lpthread -ldl",
                            cxx && *cxx ? cxx : "c++", folder, folder, folder, folder, folder));
    for (const char* obj : {"train_step.o", "inference.o", "peak_probe.o", "runtime.o"}) fs::remove(folder + "/" + obj);
    nlohmann::json manifest = manifest_json(graph, options, train.function_name, inference.function_name, "model.so",
                                            file_fingerprint(folder + "/model.so"), &probe);
    write_file_atomically(folder + "/manifest.json", manifest.dump(2) + "\n");
  } catch (...) {
    fs::remove_all(folder);
    throw;
  }
}

}  // namespace

std::string cache_root() {
  if (const char* d = std::getenv("NETC_CACHE_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return std::string(d) + "/netc";
  if (const char* d = std::getenv("HOME"); d && *d) return std::string(d) + "/.cache/netc";
  return "/tmp/netc-cache";
}

std::string cached_model(const Graph& graph, const BuildOptions& options) {
  schedule_of(options);  // a bad schedule file fails before anything is compiled
  std::string dir = fmt::format("{}/models/{}-b{}-{}-{}", cache_root(), graph.name, options.batch, options.target,
                                cache_key(graph, options));
  std::string why;
  if (fs::exists(dir)) {
    if (compiled_model_is_valid(dir, &why)) return dir;
    std::cerr << fmt::format("netc: cached pipelines in {} are unusable ({}); recompiling\n", dir, why);
    fs::remove_all(dir);
  }
  fs::create_directories(fs::path(dir).parent_path());
  auto start = std::chrono::steady_clock::now();
  std::cerr << fmt::format("netc: compiling {} (batch {}, target {}{}) ...\n", graph.name, options.batch,
                           options.target, options.profile ? ", profiled" : "");
  // Built under a name of its own, then renamed into place: another netc
  // compiling the same entry at the same time wins or loses whole.
  std::string staging = fmt::format("{}.staging.{}", dir, getpid());
  fs::remove_all(staging);
  compile_model(graph, options, staging);
  std::error_code ec;
  fs::rename(staging, dir, ec);
  if (ec) {
    fs::remove_all(staging);
    if (!compiled_model_is_valid(dir, &why)) throw std::runtime_error(fmt::format("cannot cache {}: {}", dir, why));
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cerr << fmt::format("netc: compiled in {:.1f} s, cached in {}\n", seconds, dir);
  return dir;
}

}  // namespace netc

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
#include "atomic_file.h"
#include "aot/build.h"
#include "compiled_model.h"
#include "fingerprint.h"
#include "schedule/schedule.h"

namespace fs = std::filesystem;

namespace netc {

Halide::Target target_for(const std::string& name) {
  Halide::Target host = Halide::get_host_target();
  if (std::getenv("NETC_PROFILE")) host = host.with_feature(Halide::Target::Profile);
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
  fp.add(canonical_graph(g)).add(std::to_string(o.batch)).add(target_for(o.target).to_string());
  fp.add(o.schedule_file.empty() ? std::string("default") : read_file(o.schedule_file, 1 << 20));
  fp.add("halide " NETC_HALIDE_VERSION);
  fp.add(self_fingerprint());
  return fp.hex();
}

}  // namespace

LoweredPipeline scheduled(LoweredPipeline p, const BuildOptions& o, const Halide::Target& target) {
  if (!o.schedule_file.empty())
    throw InputError(fmt::format("--schedule {}: schedule files are not supported by this version of netc",
                                 o.schedule_file));
  apply_default_cpu_schedule(p, target);
  return p;
}

namespace {

void run_command(const std::string& cmd) {
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("command failed: " + cmd);
}

}  // namespace

nlohmann::json manifest_json(const Graph& g, const BuildOptions& o, const std::string& train_fn,
                             const std::string& inference_fn, const std::string& library,
                             const std::string& library_fingerprint) {
  nlohmann::json params = nlohmann::json::array();
  for (const ParamSpec& p : g.params) params.push_back({{"name", p.name}, {"shape", p.shape}, {"fan_in", p.fan_in}});
  return {{"format", kManifestFormat},
          {"graph", g.name},
          {"target", o.target},
          {"batch", o.batch},
          {"input", g.input.dims()},
          {"classes", g.num_classes()},
          {"params", params},
          {"train_step", train_fn},
          {"inference", inference_fn},
          {"library", library},
          {"library_fingerprint", library_fingerprint}};
}

namespace {

// Compiles `graph` into `folder` (which must not exist): model.so and its
// manifest. On failure nothing of the folder is left behind.
void compile_model(const Graph& graph, const BuildOptions& options, const std::string& folder) {
  fs::create_directories(folder);
  try {
    Halide::Target target = target_for(options.target);
    LoweredPipeline train = scheduled(lower_train_step(graph, options.batch), options, target);
    LoweredPipeline inference = scheduled(lower_inference(graph, options.batch), options, target);
    Halide::Target no_runtime = target.with_feature(Halide::Target::NoRuntime);
    train.pipeline.compile_to_object(folder + "/train_step.o", train.arguments, train.function_name, no_runtime);
    inference.pipeline.compile_to_object(folder + "/inference.o", inference.arguments, inference.function_name,
                                         no_runtime);
    Halide::compile_standalone_runtime(folder + "/runtime.o", target);
    // -Bsymbolic: the pipelines must call their own runtime, never a same-named
    // symbol of the program that loads them.
    const char* cxx = std::getenv("CXX");
    run_command(fmt::format("{} -shared -Wl,-Bsymbolic -o '{}/model.so' '{}/train_step.o' '{}/inference.o' "
                            "'{}/runtime.o' -lpthread -ldl",
                            cxx && *cxx ? cxx : "c++", folder, folder, folder, folder));
    for (const char* obj : {"train_step.o", "inference.o", "runtime.o"}) fs::remove(folder + "/" + obj);
    nlohmann::json manifest = manifest_json(graph, options, train.function_name, inference.function_name, "model.so",
                                            file_fingerprint(folder + "/model.so"));
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
  std::cerr << fmt::format("netc: compiling {} (batch {}, target {}) ...\n", graph.name, options.batch,
                           options.target);
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

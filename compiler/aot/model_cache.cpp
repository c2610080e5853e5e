#include "aot/model_cache.h"

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "Halide.h"
#include "atomic_file.h"
#include "compiled_model.h"
#include "fingerprint.h"
#include "host_target.h"
#include "lower/pipeline.h"
#include "schedule/schedule.h"

namespace fs = std::filesystem;

namespace netc {
namespace {

Halide::Target target_for(const std::string& name) { return Halide::Target(halide_target_string(name)); }

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

ScheduleFile schedule_of(const BuildOptions& o) {
  return o.schedule_file.empty() ? default_schedule(o.target) : load_schedule(o.schedule_file);
}

// The graph's pipelines, lowered with the schedule's variants and scheduled:
// the train step, inference and, on a GPU target, the batch gatherer.
std::vector<LoweredPipeline> scheduled_pipelines(const Graph& graph, const BuildOptions& o,
                                                 const Halide::Target& target) {
  Scheduler scheduler(schedule_of(o), target);
  std::vector<LoweredPipeline> p;
  p.push_back(lower_train_step(graph, o.batch, scheduler.variants()));
  p.push_back(lower_inference(graph, o.batch, scheduler.variants()));
  if (target.has_gpu_feature()) p.push_back(lower_gather_batch(graph, o.batch));
  for (LoweredPipeline& pipeline : p) scheduler.apply(pipeline);
  scheduler.check_every_rule_used();
  return p;
}

// Halide checks some schedules only while compiling: a user's schedule that
// it rejects is bad input; the built-in one is netc's failure.
void compile_pipeline(LoweredPipeline& p, const std::string& object, const Halide::Target& target,
                      const BuildOptions& o) {
  try {
    p.pipeline.compile_to_object(object, p.arguments, p.function_name, target);
  } catch (const Halide::CompileError& e) {
    if (o.schedule_file.empty()) throw;
    throw InputError(fmt::format("{}: Halide cannot compile {} with this schedule: {}", o.schedule_file,
                                 p.function_name, e.what()));
  }
}

void run_command(const std::string& cmd) {
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("command failed: " + cmd);
}

nlohmann::json manifest_json(const Graph& g, const BuildOptions& o, const Halide::Target& target,
                             const std::vector<LoweredPipeline>& pipelines, const std::string& library_fingerprint) {
  nlohmann::json params = nlohmann::json::array();
  for (const ParamSpec& p : g.params) params.push_back({{"name", p.name}, {"shape", p.shape}, {"fan_in", p.fan_in}});
  nlohmann::json m = {{"format", kManifestFormat},
                      {"graph", g.name},
                      {"target", o.target},
                      {"halide_target", target.to_string()},
                      {"batch", o.batch},
                      {"input", g.input.dims()},
                      {"classes", g.num_classes()},
                      {"params", params},
                      {"train_step", pipelines.at(0).function_name},
                      {"inference", pipelines.at(1).function_name},
                      {"library", "model.so"},
                      {"library_fingerprint", library_fingerprint}};
  if (pipelines.size() > 2) m["gather"] = pipelines[2].function_name;
  return m;
}

}  // namespace

std::string graph_fingerprint(const Graph& graph) { return Fingerprint().add(canonical_graph(graph)).hex(); }

void check_schedule(const BuildOptions& options) { schedule_of(options); }

void compile_model(const Graph& graph, const BuildOptions& options, const std::string& folder) {
  fs::create_directories(folder);
  try {
    Halide::Target target = target_for(options.target);
    std::vector<LoweredPipeline> pipelines = scheduled_pipelines(graph, options, target);
    Halide::Target no_runtime = target.with_feature(Halide::Target::NoRuntime);
    std::string objects;
    for (size_t k = 0; k < pipelines.size(); ++k) {
      std::string object = fmt::format("{}/pipeline{}.o", folder, k);
      compile_pipeline(pipelines[k], object, no_runtime, options);
      objects += fmt::format(" '{}'", object);
    }
    Halide::compile_standalone_runtime(folder + "/runtime.o", target);
    // -Bsymbolic: the pipelines must call their own runtime, never a same-named
    // symbol of the program that loads them.
    const char* cxx = std::getenv("CXX");
    run_command(fmt::format("{} -shared -Wl,-Bsymbolic -o '{}/model.so'{} '{}/runtime.o' -lpthread -ldl",
                            cxx && *cxx ? cxx : "c++", folder, objects, folder));
    for (size_t k = 0; k < pipelines.size(); ++k) fs::remove(fmt::format("{}/pipeline{}.o", folder, k));
    fs::remove(folder + "/runtime.o");
    nlohmann::json manifest =
        manifest_json(graph, options, target, pipelines, file_fingerprint(folder + "/model.so"));
    write_file_atomically(folder + "/manifest.json", manifest.dump(2) + "\n");
  } catch (...) {
    fs::remove_all(folder);
    throw;
  }
}

}  // namespace netc

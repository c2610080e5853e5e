#include "aot/model_cache.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "Halide.h"
#include "aot/build.h"
#include "atomic_file.h"
#include "compiled_model.h"
#include "fingerprint.h"
#include "sha256.h"
#include "step_timing.h"
#include "host_target.h"
#include "process.h"
#include "lower/pipeline.h"
#include "front/op_spec.h"
#include "schedule/peak_probe.h"
#include "schedule/schedule.h"

namespace fs = std::filesystem;

namespace netc {

Halide::Target target_for(const std::string& name, bool profile) {
  return Halide::Target(halide_target_string(name, profile));
}

ScheduledPipelines scheduled_pipelines(const Graph& graph, const BuildOptions& o, const Halide::Target& target) {
  Scheduler scheduler(schedule_for(o.target, o.schedule_file), target);
  // Lowered in this order, the training pipeline first, so that Halide names
  // its Funcs as the stages are named (the next pipeline's get "$1").
  std::optional<LoweredPipeline> train, gradients;
  if (o.micro_batch) {
    gradients = lower_gradients(graph, o.micro_batch, scheduler.variants());
  } else {
    train = lower_train_step(graph, o.batch, scheduler.variants());
  }
  ScheduledPipelines p{std::move(train), lower_inference(graph, o.batch, scheduler.variants()), std::nullopt,
                       std::move(gradients), std::nullopt, scheduler.file().autoscheduler.has_value()};
  if (target.has_gpu_feature()) p.gather = lower_gather_batch(graph, o.batch);
  if (o.data_parallel && !p.gradients) p.gradients = lower_gradients(graph, o.batch, scheduler.variants());
  if (p.gradients) p.update = lower_update_step(graph);
  if (p.train) scheduler.apply(*p.train);
  scheduler.apply(p.inference);
  for (std::optional<LoweredPipeline>* extra : {&p.gather, &p.gradients, &p.update})
    if (*extra) scheduler.apply(**extra);
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

// Links `objects` into `library` with the C++ compiler ($CXX, else c++).
// -Bsymbolic: the pipelines must call their own runtime, never a same-named
// symbol of the program that loads them.
void link_shared_library(const std::vector<std::string>& objects, const std::string& library) {
  const char* cxx = std::getenv("CXX");
  ProgramRun link;
  link.argv = {cxx && *cxx ? cxx : "c++", "-shared", "-Wl,-Bsymbolic", "-o", library};
  link.argv.insert(link.argv.end(), objects.begin(), objects.end());
  link.argv.insert(link.argv.end(), {"-lpthread", "-ldl"});
  link.output = library + ".log";
  const ProgramExit exit = run_program(link);
  const std::string words = last_line(link.output);
  fs::remove(link.output);
  if (!exit.succeeded())
    throw std::runtime_error(fmt::format("linking {}: {} {}{}", library, link.argv[0], exit.describe(link),
                                         words.empty() ? "" : ": " + words));
}

// Runs each pipeline of the host model in `folder` once, on a random batch: what a
// schedule gets wrong that Halide checks only when a pipeline runs (a
// `bound` smaller than the region its consumers need, a buffer past 2 GiB)
// fails here, before the model is cached, rather than at every later run.
void run_once(const std::string& folder, const BuildOptions& o) {
  CompiledModel model(folder);
  // No set_threads: this runs in the compile's forked process (compile_cache.h),
  // whose copy of the thread pool has no workers to stop, and whose loops
  // then run on this thread alone.
  if (model.profiled()) model.quiet_profile();  // the report of this run would go to stdout at exit
  RandomBatch batch(model.manifest());
  try {
    batch.train_step(model);
    batch.infer(model);
    if (model.has_split_step()) batch.split_step(model);
  } catch (const std::runtime_error& e) {
    const std::string message = fmt::format("{}: the pipelines compile but cannot run: {}",
                                            o.schedule_file.empty() ? "the default schedule" : o.schedule_file,
                                            e.what());
    if (o.schedule_file.empty()) throw std::runtime_error(message);
    throw InputError(message);
  }
}

// Floating-point operations of one call of each pipeline: the ops' main
// products (Op::multiply_adds), with the weight and input gradients of the
// training step costing one forward product each; into m's flops.
void count_flops(const Graph& g, int64_t batch, Manifest& m) {
  std::vector<bool> has_params(g.layers.size(), false), needs_grad(g.layers.size(), false);
  for (const ParamSpec& p : g.params) has_params[p.layer] = needs_grad[p.layer] = true;
  int64_t forward = 0, train = 0;
  for (size_t li = 0; li < g.layers.size(); ++li) {
    const Layer& l = g.layers[li];
    bool input_needs_grad = false;
    for (int in : l.inputs)
      if (in != Layer::kGraphInput && needs_grad[in]) input_needs_grad = needs_grad[li] = true;
    int64_t flops = 2 * batch * find_op(l.op)->multiply_adds(l, g.input_shapes(int(li)));
    forward += flops;
    train += flops * (1 + int(has_params[li]) + int(input_needs_grad));
  }
  m.train_step_flops = train;
  m.inference_flops = forward;
}

}  // namespace

Manifest manifest_of(const Graph& g, const BuildOptions& o, const std::string& train_fn,
                     const std::string& inference_fn, const std::string& library,
                     const std::string& library_sha256, const PeakProbe* probe, const std::string& gather_fn) {
  Manifest m;
  m.graph = g.name;
  m.target = o.target;
  m.halide_target = target_for(o.target, o.profile).to_string();
  m.batch = o.batch;
  m.update = update_rule(g.train.optimizer.type);
  m.input = g.input.dims();
  m.classes = g.num_classes();
  // The front end's parameters become the manifest's here, and only here.
  m.params.assign(g.params.begin(), g.params.end());
  m.train_step = train_fn;
  m.inference = inference_fn;
  count_flops(g, o.batch, m);
  m.library = library;
  m.library_sha256 = library_sha256;
  m.gather = gather_fn;
  if (probe) {
    m.peak_probe = probe->function_name;
    m.peak_probe_flops_per_iteration = probe->flops_per_iteration;
    m.peak_probe_output = probe->output_extents;
  }
  return m;
}

void compile_model(const Graph& graph, const BuildOptions& options, const std::string& folder) {
  fs::create_directories(folder);
  try {
    Halide::Target target = target_for(options.target, options.profile);
    ScheduledPipelines p = scheduled_pipelines(graph, options, target);
    Halide::Target no_runtime = target.with_feature(Halide::Target::NoRuntime);
    std::vector<std::string> objects = {folder + "/inference.o"};
    compile_pipeline(p.inference, objects[0], no_runtime, options, p.autoscheduled);
    for (std::optional<LoweredPipeline>* extra : {&p.train, &p.gather, &p.gradients, &p.update})
      if (*extra) {
        objects.push_back(folder + "/" + (*extra)->function_name + ".o");
        compile_pipeline(**extra, objects.back(), no_runtime, options, p.autoscheduled);
      }
    PeakProbe probe = lower_peak_probe(target);
    objects.push_back(folder + "/peak_probe.o");
    probe.pipeline.compile_to_object(objects.back(), probe.arguments, probe.function_name, no_runtime);
    objects.push_back(folder + "/runtime.o");
    Halide::compile_standalone_runtime(objects.back(), target);
    link_shared_library(objects, folder + "/model.so");
    for (const std::string& object : objects) fs::remove(object);
    Manifest manifest = manifest_of(graph, options, p.train ? p.train->function_name : "", p.inference.function_name, "model.so",
                                    file_sha256(folder + "/model.so", kMaxLibraryBytes), &probe,
                                    p.gather ? p.gather->function_name : "");
    if (p.gradients) {
      manifest.gradients = p.gradients->function_name;
      manifest.update_step = p.update->function_name;
    }
    manifest.micro_batch = options.micro_batch;
    write_manifest(folder, manifest);
    if (!target.has_gpu_feature()) run_once(folder, options);
  } catch (...) {
    fs::remove_all(folder);
    throw;
  }
}

namespace {

// The file this code was loaded from (libnetc_compiler.so in netc, or a
// program that links the compiler), fingerprinted as netc fingerprints the
// compiler library, so that both find the same cache entries.
const std::string& compiler_fingerprint() {
  static const std::string fingerprint = [] {
    Dl_info info{};
    if (!dladdr(reinterpret_cast<void*>(&compiler_fingerprint), &info) || !info.dli_fname)
      throw std::runtime_error("cannot tell which file the compiler was loaded from");
    return file_fingerprint(info.dli_fname);
  }();
  return fingerprint;
}

}  // namespace

std::string cached_model(const Graph& graph, const BuildOptions& options) {
  schedule_for(options.target, options.schedule_file);  // a bad schedule file fails before anything is compiled
  return netc::cached_model(graph.name, graph_fingerprint(graph), update_rule(graph.train.optimizer.type), options,
                            compiler_fingerprint(),
                            [&](const std::string& folder) { compile_model(graph, options, folder); });
}

}  // namespace netc

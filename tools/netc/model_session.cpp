#include "model_session.h"

#include <filesystem>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "compile_cache.h"
#include "compiler_library.h"
#include "fingerprint.h"

namespace netc {
namespace {

nlohmann::json record_of(const Graph& g, const std::string& fingerprint) {
  const TrainConfig& t = g.train;
  return {{"name", g.name},
          {"fingerprint", fingerprint},
          {"train",
           {{"dataset", t.dataset},
            {"batch_size", t.batch_size},
            {"iterations", t.iterations},
            {"eval_every", t.eval_every},
            {"shuffle", t.shuffle},
            {"seed", t.seed},
            {"optimizer",
             {{"type", t.optimizer.type},
              {"lr", t.optimizer.lr},
              {"momentum", t.optimizer.momentum},
              {"weight_decay", t.optimizer.weight_decay},
              {"nesterov", t.optimizer.nesterov}}}}}};
}

// Fills `g` from a record; false if the record is unusable.
bool from_record(const std::string& text, GraphFile& g) {
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    const nlohmann::json& t = j.at("train");
    const nlohmann::json& o = t.at("optimizer");
    j.at("name").get_to(g.name);
    j.at("fingerprint").get_to(g.fingerprint);
    t.at("dataset").get_to(g.train.dataset);
    t.at("batch_size").get_to(g.train.batch_size);
    t.at("iterations").get_to(g.train.iterations);
    t.at("eval_every").get_to(g.train.eval_every);
    t.at("shuffle").get_to(g.train.shuffle);
    t.at("seed").get_to(g.train.seed);
    o.at("type").get_to(g.train.optimizer.type);
    o.at("lr").get_to(g.train.optimizer.lr);
    o.at("momentum").get_to(g.train.optimizer.momentum);
    o.at("weight_decay").get_to(g.train.optimizer.weight_decay);
    o.at("nesterov").get_to(g.train.optimizer.nesterov);
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

std::string record_key(const std::string& text) {
  return "graph-" + Fingerprint().add(text).add(compiler_fingerprint()).hex();
}

// The compiler, or why a model must be compiled and cannot be.
const CompilerApi& compiler_for(const std::string& what) {
  try {
    return compiler();
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{} is not in the compile cache ({}), and {}", what, cache_root(), e.what()));
  }
}

}  // namespace

void add_build_options(CLI::App* cmd, PipelineOptions& o) {
  cmd->add_option("--target", o.target, "host (default) or cuda")->check(CLI::IsMember({"host", "cuda"}));
  cmd->add_option("--schedule", o.schedule_file, "schedule file instead of the target's default")
      ->check(CLI::ExistingFile);
}

void add_pipeline_options(CLI::App* cmd, PipelineOptions& o) {
  add_build_options(cmd, o);
  cmd->add_option("--threads", o.threads, "CPU threads (default: every core)")->check(CLI::Range(1, 1024));
}

GraphFile read_graph_file(const std::string& path) {
  GraphFile g;
  g.path = path;
  g.text = read_graph_text(path);
  const std::string key = record_key(g.text);
  if (std::optional<std::string> record = read_record(key); record && from_record(*record, g)) return g;
  const CompilerApi& api = compiler_for(fmt::format("graph file {} (or this version of it)", path));
  Graph graph = api.parse_graph(g.text, path);
  g.fingerprint = graph_fingerprint(graph);
  g.name = graph.name;
  g.train = graph.train;
  write_record(key, record_of(graph, g.fingerprint).dump(2) + "\n");
  return g;
}

std::unique_ptr<CompiledModel> load_pipelines(const GraphFile& graph, const PipelineOptions& o) {
  BuildOptions build;
  build.batch = o.batch_size ? o.batch_size : graph.train.batch_size;
  build.target = o.target;
  build.schedule_file = o.schedule_file;
  build.profile = o.profile;
  const std::string entry = model_entry(graph.name, graph.fingerprint, build.batch, build.target, build.profile,
                                        build.schedule_file, compiler_fingerprint());
  const std::string what = fmt::format("{} (batch {}, target {}{})", graph.name, build.batch, build.target,
                                       o.profile ? ", profiled" : "");
  std::string dir = cached_model(entry, what, [&](const std::string& folder) {
    const CompilerApi& api = compiler_for("the model " + what);
    api.check_schedule(build);
    api.compile_model(api.parse_graph(graph.text, graph.path), build, folder);
  });
  auto model = std::make_unique<CompiledModel>(dir);
  model->set_threads(o.threads ? o.threads : int(std::max(1u, std::thread::hardware_concurrency())));
  return model;
}

void check_output_path(const char* flag, const std::string& path) {
  if (path.empty()) return;
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw InputError(fmt::format("{} {}: that is a folder, not a file", flag, path));
  if (!folder.empty() && !std::filesystem::is_directory(folder, ec))
    throw InputError(fmt::format("{} {}: there is no folder {}", flag, path, folder.string()));
}

std::string dataset_spec(const GraphFile& graph, const std::string& data_flag) {
  return data_flag.empty() ? graph.train.dataset : data_flag;
}

}  // namespace netc

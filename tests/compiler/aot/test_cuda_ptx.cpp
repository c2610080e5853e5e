// The CUDA pipelines of Models A, B and C, built on a machine without a GPU:
// Halide emits PTX for sm_80 itself, and CUDA's ptxas must accept every
// kernel module of them for sm_90 (an H200) and sm_80.
#include <catch2/catch.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include "aot/model_cache.h"
#include "front/graph.h"
#include "ptx.h"

namespace {

using netc::test::ptxas;
using netc::test::ScratchDir;

// Compiles `graph` for CUDA with `schedule` (empty: the default) and its
// optimizer of type `optimizer` (with the gradients and update pipelines of a
// data-parallel rank if `data_parallel`) and runs ptxas on every PTX module
// for both architectures.
void check_ptx(const std::string& graph_name, const std::string& schedule = "",
               netc::OptimizerType optimizer = netc::OptimizerType::Sgd, bool data_parallel = false) {
  INFO("ptxas: " << ptxas() << " (NETC_PTXAS overrides; it comes with CUDA 13 in /usr/local/cuda)");
  REQUIRE(access(ptxas().c_str(), X_OK) == 0);
  ScratchDir dir("netc-ptx-");
  netc::Graph graph = netc::load_graph(std::string(NETC_SOURCE_DIR) + "/graphs/" + graph_name + ".yaml");
  graph.train.optimizer.type = optimizer;
  netc::BuildOptions options;
  options.target = "cuda";
  options.schedule_file = schedule;
  options.data_parallel = data_parallel;
  netc::compile_model(graph, options, dir / "model");

  std::ifstream manifest_file(dir / "model/manifest.json");
  nlohmann::json manifest = nlohmann::json::parse(manifest_file);
  CHECK(manifest.at("halide_target").get<std::string>().find("-cuda-cuda_capability_80") != std::string::npos);
  CHECK(manifest.contains("gather"));
  CHECK(manifest.at("update") == netc::update_rule_name(netc::update_rule(optimizer)));

  std::vector<std::string> modules = netc::test::ptx_modules(dir / "model/model.so");
  CHECK(manifest.contains("gradients") == data_parallel);
  CHECK(manifest.contains("update_step") == data_parallel);
  // train step, inference, batch gatherer (and gradients, update)
  REQUIRE(modules.size() == (data_parallel ? 5u : 3u));
  for (size_t k = 0; k < modules.size(); ++k) {
    CHECK(modules[k].find(".target sm_80") != std::string::npos);
    for (const char* arch : {"sm_90", "sm_80"}) {
      netc::test::PtxasResult r = netc::test::run_ptxas(modules[k], arch, dir.path());
      INFO(graph_name << " module " << k << " for " << arch << ": " << r.output);
      CHECK(r.status == 0);
    }
  }
}

}  // namespace

TEST_CASE("cuda: ptxas accepts Model A's pipelines for sm_90 and sm_80") { check_ptx("model_a"); }
TEST_CASE("cuda: ptxas accepts Model B's pipelines for sm_90 and sm_80") { check_ptx("model_b"); }
TEST_CASE("cuda: ptxas accepts Model C's pipelines for sm_90 and sm_80") { check_ptx("model_c"); }
TEST_CASE("cuda: ptxas accepts the DAG test graph's pipelines (add, concat, tanh, strides)") {
  check_ptx("residual_mix");
}
TEST_CASE("cuda: ptxas accepts Model A scheduled by Li2018") {
  check_ptx("model_a", std::string(NETC_SOURCE_DIR) + "/schedules/cuda/li2018.yaml");
}
TEST_CASE("cuda: ptxas accepts Model A's pipelines with Adam's update (a parameter's three stages in one kernel)") {
  check_ptx("model_a", "", netc::OptimizerType::Adam);
}
TEST_CASE("cuda: ptxas accepts a data-parallel rank's gradients and Adam update pipelines of Model A") {
  check_ptx("model_a", "", netc::OptimizerType::Adam, /*data_parallel=*/true);
}

// A micro-batched train step (BuildOptions::micro_batch: the gradients of
// each micro-batch, averaged, then one update) is the fused step up to float
// rounding, including micro-batches that start off the pipelines' alignment.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <memory>

#include "aot/model_cache.h"
#include "front/loader.h"
#include "step_timing.h"
#include "ptx.h"  // ScratchDir

namespace {

std::unique_ptr<netc::CompiledModel> compiled(const netc::Graph& graph, int64_t batch, int64_t micro_batch,
                                              const std::string& folder) {
  netc::BuildOptions options;
  options.batch = batch;
  options.micro_batch = micro_batch;
  netc::compile_model(graph, options, folder);
  return std::make_unique<netc::CompiledModel>(folder);
}

float step(netc::CompiledModel& model, netc::RandomBatch& batch) {
  return model.train_step(batch.images.data(), batch.labels.data(),
                          netc::typical_step_scalars(model.manifest().update), batch.params.data(),
                          netc::slot_data(batch.slots), batch.params_out.mutable_data(),
                          netc::mutable_slot_data(batch.slots_out));
}

}  // namespace

TEST_CASE("micro-batches: a step of 250 images in two of 125 is the fused step of 250") {
  const netc::Graph graph = netc::load_graph(std::string(NETC_SOURCE_DIR) + "/graphs/narrow.yaml");
  netc::test::ScratchDir dir("netc-micro-batch-");
  auto fused = compiled(graph, 250, 0, dir / "fused");
  auto micro = compiled(graph, 250, 125, dir / "micro");
  REQUIRE(micro->manifest().train_step.empty());
  REQUIRE(micro->manifest().micro_batch == 125);

  // The same images, labels and parameters (RandomBatch's fixed seed).
  netc::RandomBatch a(fused->manifest()), b(micro->manifest());
  REQUIRE(a.images == b.images);
  const float fused_loss = step(*fused, a), micro_loss = step(*micro, b);
  CHECK(micro_loss == Approx(fused_loss).epsilon(1e-5));
  for (size_t k = 0; k < a.params_out.count(); ++k) {
    const auto &x = a.params_out[k], &y = b.params_out[k], &start = a.params[k];
    double largest_change = 0, largest_difference = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      largest_change = std::max(largest_change, double(std::abs(x[i] - start[i])));
      largest_difference = std::max(largest_difference, double(std::abs(x[i] - y[i])));
    }
    INFO(fused->manifest().params[k].name);
    CHECK(largest_change > 0);  // the step moved the parameter
    CHECK(largest_difference <= 1e-4 * largest_change);
  }
}

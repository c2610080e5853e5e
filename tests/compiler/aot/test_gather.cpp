// The batch gatherer of GPU targets, compiled for the host and run
// in-process: its batches, shifted or not, are the host's (gather_batch with
// augment_shifts), so that a GPU trains on what the CPU would.
#include <catch2/catch.hpp>

#include <random>

#include "Halide.h"
#include "batches.h"
#include "front/loader.h"
#include "lower/pipeline.h"

namespace {

using netc::ImageShift;

// 8 x 8 images of random pixels (and labels), in the gatherer's layout.
struct Images {
  netc::IdxImages idx{20, 8, 8, {}};
  std::vector<uint8_t> labels;
  Images() {
    std::mt19937 rng(5);
    for (int p = 0; p < 20 * 64; ++p) idx.pixels.push_back(uint8_t(rng()));
    for (int i = 0; i < 20; ++i) labels.push_back(uint8_t(rng() % 10));
  }
};

// The gatherer's batch of `order` (one batch), each image translated by `shifts`.
void run_gatherer(const netc::Graph& graph, const Images& images, const std::vector<int32_t>& order,
                  const std::vector<ImageShift>& shifts, Halide::Buffer<float>& out, Halide::Buffer<int32_t>& out_labels) {
  const int n = int(order.size());
  netc::LoweredPipeline p = netc::lower_gather_batch(graph, n);
  Halide::Buffer<uint8_t> pixels(const_cast<uint8_t*>(images.idx.pixels.data()), {8, 8, int(images.idx.count)});
  Halide::Buffer<uint8_t> labels(const_cast<uint8_t*>(images.labels.data()), {int(images.labels.size())});
  Halide::Buffer<int32_t> order_buffer(const_cast<int32_t*>(order.data()), {n});
  Halide::Buffer<int32_t> shift_buffer(2, n);
  for (int i = 0; i < n; ++i) {
    shift_buffer(0, i) = shifts[size_t(i)].dx;
    shift_buffer(1, i) = shifts[size_t(i)].dy;
  }
  Halide::ParamMap params;  // `first` keeps its default, 0
  params.set(p.buffers.at(0), pixels);
  params.set(p.buffers.at(1), labels);
  params.set(p.buffers.at(2), order_buffer);
  params.set(p.buffers.at(3), shift_buffer);
  p.pipeline.realize(Halide::Realization({out, out_labels}), Halide::get_host_target(), params);
}

}  // namespace

TEST_CASE("gather: the gatherer's batches are the host's, shifted as augment_shifts says") {
  const netc::Graph graph = netc::parse_graph(
      "name: g\ninput: {channels: 1, height: 8, width: 8}\n"
      "layers:\n  - {name: f, op: flatten}\n  - {name: fc, op: linear, out_features: 10}\n",
      "g.yaml");
  const Images images;
  const std::vector<int32_t> order = {3, 19, 0, 7, 7, 12, 5, 1, 16, 10, 2, 9};
  const int n = int(order.size());
  for (int64_t max_shift : {0, 1, 3, 7}) {
    // Step 4's shifts; with P = 7, some images move out entirely.
    const std::vector<ImageShift> shifts = netc::augment_shifts(11, 4, n, max_shift);
    std::vector<float> expected(size_t(n * 64));
    std::vector<int32_t> expected_labels(static_cast<size_t>(n));
    netc::gather_batch(images.idx, images.labels, order, expected.data(), expected_labels.data(), shifts);

    Halide::Buffer<float> out(8, 8, 1, n);
    Halide::Buffer<int32_t> out_labels(n);
    run_gatherer(graph, images, order, shifts, out, out_labels);
    INFO("max shift " << max_shift);
    int64_t differing = 0;
    for (int i = 0; i < n; ++i) {
      CHECK(out_labels(i) == expected_labels[size_t(i)]);
      for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 8; ++x) differing += out(x, y, 0, i) != expected[size_t(i * 64 + y * 8 + x)];
    }
    CHECK(differing == 0);
  }
}
